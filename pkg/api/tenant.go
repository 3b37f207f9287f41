package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// orgIDHeader carries the tenant, as in Loki (and Cortex, Mimir).
const orgIDHeader = "X-Scope-OrgID"

// maxTenantIDLength is the longest tenant ID Loki accepts, in bytes.
const maxTenantIDLength = 150

// Tenant errors, with the texts of Loki's tenant library.
var (
	errNoOrgID        = &httpError{status: http.StatusUnauthorized, msg: "no org id"}
	errTooManyOrgIDs  = &httpError{status: http.StatusBadRequest, msg: "multiple org IDs present"}
	errTenantTooLong  = fmt.Errorf("tenant ID is too long: max %d characters", maxTenantIDLength)
	errUnsafeTenantID = errors.New("tenant ID is '.' or '..'")
)

// tenant returns the request's tenant. With auth disabled every request
// belongs to NoAuthTenant and the header is ignored. With auth enabled the
// header is required (401 "no org id") and must name one valid tenant;
// "a|a" names one tenant, "a|b" is refused (400): Skald serves no
// multi-tenant reads or writes.
func (a *API) tenant(r *http.Request) (string, error) {
	if !a.cfg.AuthEnabled {
		return a.cfg.NoAuthTenant, nil
	}
	orgID := r.Header.Get(orgIDHeader)
	if orgID == "" {
		return "", errNoOrgID
	}
	first, rest, multi := strings.Cut(orgID, "|")
	if err := validateTenantID(first); err != nil {
		return "", badRequest(err.Error())
	}
	for multi {
		var next string
		next, rest, multi = strings.Cut(rest, "|")
		if err := validateTenantID(next); err != nil {
			return "", badRequest(err.Error())
		}
		if next != first {
			return "", errTooManyOrgIDs
		}
	}
	return first, nil
}

// validateTenantID applies Loki's tenant ID rules: at most 150 bytes of
// ASCII letters, digits and ! - _ . * ' ( ), and not "." or "..".
func validateTenantID(s string) error {
	for i := 0; i < len(s); i++ {
		if !validTenantChar(s[i]) {
			return fmt.Errorf("tenant ID '%s' contains unsupported character '%c'", s, s[i])
		}
	}
	switch {
	case s == "":
		return errors.New("tenant ID is empty")
	case len(s) > maxTenantIDLength:
		return errTenantTooLong
	case s == "." || s == "..":
		return errUnsafeTenantID
	}
	return nil
}

func validTenantChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '-', '_', '.', '*', '\'', '(', ')':
		return true
	}
	return false
}
