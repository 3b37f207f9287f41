package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/skald-logs/skald/pkg/objstore"
)

// Errors of the S3 store, beside objstore's. They are returned wrapped,
// together with the SDK's error.
var (
	// ErrBucketNotFound is returned when the configured bucket does not
	// exist.
	ErrBucketNotFound = errors.New("bucket not found")
	// ErrAccessDenied is returned when the server refuses the credentials
	// or their permissions.
	ErrAccessDenied = errors.New("access denied (check the access key ID, secret access key and region)")
)

// errorCode returns the S3 error code and HTTP status of an SDK error; either
// may be empty or 0.
func errorCode(err error) (string, int) {
	code := ""
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	status := 0
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	return code, status
}

// wrap turns an SDK error of op on key into an error wrapping the matching
// sentinel: objstore.ErrNotFound, ErrBucketNotFound or ErrAccessDenied.
func (b *Bucket) wrap(op, key string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("s3 %s %q: %w", op, key, err)
	}
	code, status := errorCode(err)
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("s3 %s %q: %w: %q: %w", op, key, ErrBucketNotFound, b.bucket, err)
	case code == "NoSuchKey" || (status == http.StatusNotFound && (code == "" || code == "NotFound")):
		// A HEAD answer has no body, so no code but NotFound. Other 404
		// codes (versitygw answers an unknown access key with 404
		// XAdminUserNotFound) are not about the object.
		return fmt.Errorf("s3 %s %q: %w", op, key, objstore.ErrNotFound)
	case isAccessDenied(code, status):
		return fmt.Errorf("s3 %s %q: %w: %w", op, key, ErrAccessDenied, err)
	}
	return fmt.Errorf("s3 %s %q: %w", op, key, err)
}

// isAccessDenied reports whether an error code and status say that the
// server refused the credentials or their permissions.
func isAccessDenied(code string, status int) bool {
	switch code {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden",
		"InvalidToken", "ExpiredToken", "XAdminUserNotFound":
		return true
	}
	return status == http.StatusForbidden
}
