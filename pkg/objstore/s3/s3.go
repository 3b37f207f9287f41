// Package s3 is the objstore.Bucket of a Skald cluster: objects in a bucket of
// AWS S3 or of any S3-compatible server (MinIO, Ceph RGW, versitygw, ...).
// It is the only package of Skald that imports the AWS SDK.
//
// Requests are retried with randomized exponential backoff (the SDK's
// standard retryer, without its client-side retry quota), each attempt is
// bounded by Config.RequestTimeout, and every attempt is counted in the
// skald_s3_* metrics. Put bodies are sent from memory or from a seekable
// reader, so that they can be checksummed and re-sent on retry.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/logging"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/objstore"
)

// Bucket is an S3 objstore.Bucket. It is safe for concurrent use.
type Bucket struct {
	client    *s3.Client
	bucket    string
	region    string
	transport *http.Transport
	logger    *slog.Logger
}

var _ objstore.Bucket = (*Bucket)(nil)

// New returns a bucket for cfg. It does no I/O: a missing bucket or bad
// credentials show on the first request, or on Check.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Bucket, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	endpoint, err := cfg.endpointURL()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("s3: metrics: %w", err)
	}

	// The SDK's buildable client picks up a custom CA bundle
	// (AWS_CA_BUNDLE) while the config loads; its transport is then wrapped
	// for the metrics.
	dialer := &net.Dialer{Timeout: cfg.RequestTimeout, KeepAlive: 30 * time.Second}
	buildable := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = dialer.DialContext
		tr.MaxIdleConns = 100
		tr.MaxIdleConnsPerHost = 100
		tr.MaxConnsPerHost = 0
		tr.IdleConnTimeout = 90 * time.Second
		tr.TLSHandshakeTimeout = cfg.RequestTimeout
		tr.ResponseHeaderTimeout = cfg.RequestTimeout
	})
	retryer := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = cfg.MaxAttempts
		o.MaxBackoff = cfg.MaxBackoff
		// The SDK's retry quota stops retrying after ~35 failures and
		// refills slowly; after an outage it would leave the store
		// without retries for a while. MaxAttempts bounds retries.
		o.RateLimiter = ratelimit.None
	})
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(cfg.Region),
		config.WithHTTPClient(buildable),
		config.WithRetryer(func() aws.Retryer { return retryer }),
		config.WithLogger(sdkLogger{logger}),
		config.WithClientLogMode(0),
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: aws config: %w", err)
	}
	transport := buildable.GetTransport()
	if bc, ok := awsCfg.HTTPClient.(*awshttp.BuildableClient); ok {
		transport = bc.GetTransport()
	}
	httpClient := &http.Client{
		Transport: instrumented{next: transport, metrics: m},
		// Like the SDK's own client: S3 redirects are answers, not hops.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.HTTPClient = httpClient
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = cfg.ForcePathStyle
		o.EndpointOptions.DisableHTTPS = cfg.Insecure
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	logger.Debug("s3 object store", "config", cfg)
	return &Bucket{client: client, bucket: cfg.Bucket, region: cfg.Region, transport: transport, logger: logger}, nil
}

// Get implements objstore.Bucket.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := objstore.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("s3 get: %w", err)
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		return nil, b.wrap("get", key, err)
	}
	return &body{ReadCloser: out.Body, size: sizeOf(out.ContentLength)}, nil
}

// GetRange implements objstore.Bucket.
func (b *Bucket) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := objstore.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("s3 get range: %w", err)
	}
	if off < 0 {
		return nil, fmt.Errorf("s3 get range %q: %w: offset %d", key, objstore.ErrInvalidRange, off)
	}
	if length == 0 {
		// HTTP cannot ask for zero bytes; check that the object exists.
		if _, err := b.Attributes(ctx, key); err != nil {
			return nil, err
		}
		return &body{ReadCloser: http.NoBody}, nil
	}
	rng := fmt.Sprintf("bytes=%d-", off)
	if length > 0 && off+length > off { // off+length-1 would overflow otherwise
		rng = fmt.Sprintf("bytes=%d-%d", off, off+length-1)
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: &key, Range: &rng})
	if err != nil {
		if code, _ := errorCode(err); code == "InvalidRange" {
			// 416: the range starts at or past the end of the object.
			return &body{ReadCloser: http.NoBody}, nil
		}
		return nil, b.wrap("get range", key, err)
	}
	size := sizeOf(out.ContentLength)
	if out.ContentRange == nil {
		// The server ignored the Range header and sent the whole object
		// (200 instead of 206): cut the range out of it.
		if _, err := io.CopyN(io.Discard, out.Body, off); err != nil && err != io.EOF {
			out.Body.Close()
			return nil, b.wrap("get range", key, err)
		}
		var r io.Reader = out.Body
		switch {
		case size >= 0:
			size = max(0, size-off)
			if length >= 0 {
				size = min(size, length)
			}
			r = io.LimitReader(out.Body, size)
		case length >= 0:
			r = io.LimitReader(out.Body, length)
		}
		return &body{ReadCloser: readCloser{r, out.Body}, size: size}, nil
	}
	return &body{ReadCloser: out.Body, size: size}, nil
}

// sizeOf returns a response's Content-Length, or -1 if it has none.
func sizeOf(contentLength *int64) int64 {
	if contentLength == nil {
		return -1
	}
	return *contentLength
}

// Put implements objstore.Bucket. A body that is not an io.ReadSeeker is read
// into memory first.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := objstore.ValidateKey(key); err != nil {
		return fmt.Errorf("s3 put: %w", err)
	}
	rs, n, err := seekable(ctx, r, size)
	if err != nil {
		return fmt.Errorf("s3 put %q: %w", key, err)
	}
	_, err = b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &b.bucket,
		Key:           &key,
		Body:          rs,
		ContentLength: &n,
		ContentType:   aws.String("application/octet-stream"),
	})
	if err != nil {
		return b.wrap("put", key, err)
	}
	return nil
}

// seekable returns r as a seekable body of size bytes from its current
// position, reading it into memory if r cannot seek.
func seekable(ctx context.Context, r io.Reader, size int64) (io.ReadSeeker, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if rs, ok := r.(io.ReadSeeker); ok {
		cur, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, 0, err
		}
		end, err := rs.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, 0, err
		}
		if _, err := rs.Seek(cur, io.SeekStart); err != nil {
			return nil, 0, err
		}
		n := end - cur
		if size >= 0 && n != size {
			return nil, 0, sizeErr(n, size)
		}
		return rs, n, nil
	}
	r = ctxReader{ctx, r}
	if size < 0 {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, 0, err
		}
		return bytes.NewReader(data), int64(len(data)), nil
	}
	// Read size bytes, then one more to see that the body ends there.
	data := make([]byte, size+1)
	n, err := io.ReadFull(r, data)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if int64(n) != size {
			return nil, 0, sizeErr(int64(n), size)
		}
	case err != nil:
		return nil, 0, err
	default:
		return nil, 0, sizeErr(size+1, size)
	}
	return bytes.NewReader(data[:n]), size, nil
}

func sizeErr(n, size int64) error {
	if n > size {
		return fmt.Errorf("body is longer than size %d", size)
	}
	return fmt.Errorf("body is %d bytes, size says %d", n, size)
}

// List implements objstore.Bucket.
func (b *Bucket) List(ctx context.Context, prefix string, fn func(key string) error) error {
	dir, err := objstore.ListDir(prefix)
	if err != nil {
		return fmt.Errorf("s3 list: %w", err)
	}
	if dir != "" {
		dir += "/"
	}
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: &dir})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return b.wrap("list", prefix, err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			if key == "" || key[len(key)-1] == '/' {
				continue // a "directory" marker, not an object
			}
			if err := fn(key); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete implements objstore.Bucket.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := objstore.ValidateKey(key); err != nil {
		return fmt.Errorf("s3 delete: %w", err)
	}
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		err = b.wrap("delete", key, err)
		if errors.Is(err, objstore.ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// Attributes implements objstore.Bucket.
func (b *Bucket) Attributes(ctx context.Context, key string) (objstore.Attributes, error) {
	if err := objstore.ValidateKey(key); err != nil {
		return objstore.Attributes{}, fmt.Errorf("s3 attributes: %w", err)
	}
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		return objstore.Attributes{}, b.wrap("attributes", key, err)
	}
	return objstore.Attributes{Size: aws.ToInt64(out.ContentLength), LastModified: aws.ToTime(out.LastModified)}, nil
}

// Close implements objstore.Bucket: it closes idle connections.
func (b *Bucket) Close() error {
	b.transport.CloseIdleConnections()
	return nil
}

// CreateBucket creates the configured bucket. A bucket that already exists
// (BucketAlreadyOwnedByYou, or BucketAlreadyExists as some servers answer for
// one's own bucket) is success.
func (b *Bucket) CreateBucket(ctx context.Context) error {
	in := &s3.CreateBucketInput{Bucket: &b.bucket}
	if b.region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(b.region),
		}
	}
	_, err := b.client.CreateBucket(ctx, in)
	if err != nil {
		if code, _ := errorCode(err); code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
			return nil
		}
		return fmt.Errorf("s3 create bucket %q: %w", b.bucket, bucketErr(err))
	}
	return nil
}

// Check verifies that the bucket exists and that the credentials may list it.
// It returns an error wrapping ErrBucketNotFound or ErrAccessDenied for those
// cases. It lists rather than HEADs the bucket because a HEAD answer carries
// no error code to tell the cases apart.
func (b *Bucket) Check(ctx context.Context) error {
	_, err := b.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b.bucket, MaxKeys: aws.Int32(1)})
	if err == nil {
		return nil
	}
	if code, _ := errorCode(err); code == "NoSuchBucket" {
		return fmt.Errorf("s3 bucket %q: %w: %w", b.bucket, ErrBucketNotFound, err)
	}
	return fmt.Errorf("s3 bucket %q: %w", b.bucket, bucketErr(err))
}

// bucketErr marks an SDK error of a bucket operation that refused the
// credentials.
func bucketErr(err error) error {
	if isAccessDenied(errorCode(err)) {
		return fmt.Errorf("%w: %w", ErrAccessDenied, err)
	}
	return err
}

// body is the reader of Get and GetRange. It implements objstore.Sizer.
type body struct {
	io.ReadCloser
	size int64
}

func (b *body) Size() int64 { return b.size }

type readCloser struct {
	io.Reader
	io.Closer
}

// ctxReader fails reads once its context is done, so that a cancelled Put
// stops reading a slow body.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// sdkLogger sends the SDK's few log lines (client log mode is off) to slog.
type sdkLogger struct{ l *slog.Logger }

func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	s.l.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
}
