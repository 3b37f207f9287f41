package api

import (
	"net/http"
	"strings"
	"testing"
)

func TestTenantAuthDisabled(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.NoAuthTenant = "single" })
	f.api.decoders = fakeDecoders(&decoderLog{})
	f.request(http.MethodGet, "/loki/api/v1/query?query=1", nil, "X-Scope-OrgID: someone|else")
	f.request(http.MethodPost, "/loki/api/v1/push", strings.NewReader("x"), "Content-Type: application/json", "X-Scope-OrgID: other")
	if len(f.engine.tenants) != 1 || f.engine.tenants[0] != "single" {
		t.Errorf("engine tenants %v", f.engine.tenants)
	}
	if len(f.pusher.tenants) != 1 || f.pusher.tenants[0] != "single" {
		t.Errorf("pusher tenants %v", f.pusher.tenants)
	}
}

func TestTenantAuthEnabled(t *testing.T) {
	tests := []struct {
		name       string
		orgID      string
		wantTenant string
		wantStatus int
		wantBody   string // query path; push adds "\n"
	}{
		{name: "plain", orgID: "tenant-1", wantTenant: "tenant-1"},
		{name: "all allowed characters", orgID: "aZ09!-_.*'()", wantTenant: "aZ09!-_.*'()"},
		{name: "same tenant twice", orgID: "a|a", wantTenant: "a"},
		{name: "missing", orgID: "", wantStatus: 401, wantBody: "no org id"},
		{name: "two tenants", orgID: "a|b", wantStatus: 400, wantBody: "multiple org IDs present"},
		{name: "empty part", orgID: "a|", wantStatus: 400, wantBody: "tenant ID is empty"},
		{name: "colon", orgID: "a:b", wantStatus: 400, wantBody: "tenant ID 'a:b' contains unsupported character ':'"},
		{name: "slash", orgID: "../etc", wantStatus: 400, wantBody: "tenant ID '../etc' contains unsupported character '/'"},
		{name: "dot", orgID: ".", wantStatus: 400, wantBody: "tenant ID is '.' or '..'"},
		{name: "dot dot", orgID: "..", wantStatus: 400, wantBody: "tenant ID is '.' or '..'"},
		{name: "150 bytes", orgID: strings.Repeat("t", 150), wantTenant: strings.Repeat("t", 150)},
		{name: "151 bytes", orgID: strings.Repeat("t", 151), wantStatus: 400, wantBody: "tenant ID is too long: max 150 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.AuthEnabled = true })
			f.api.decoders = fakeDecoders(&decoderLog{})
			var headers []string
			if tc.orgID != "" {
				headers = append(headers, "X-Scope-OrgID: "+tc.orgID)
			}
			q := f.request(http.MethodGet, "/loki/api/v1/labels", nil, headers...)
			p := f.request(http.MethodPost, "/loki/api/v1/push", strings.NewReader("x"), append(headers, "Content-Type: application/json")...)
			if tc.wantStatus == 0 {
				if q.Code != 200 || p.Code != 204 {
					t.Fatalf("query %d %q, push %d %q", q.Code, q.Body.String(), p.Code, p.Body.String())
				}
				if f.meta.tenants[0] != tc.wantTenant || f.pusher.tenants[0] != tc.wantTenant {
					t.Errorf("tenants %q %q, want %q", f.meta.tenants[0], f.pusher.tenants[0], tc.wantTenant)
				}
				return
			}
			wantQuery := tc.wantBody
			if tc.wantStatus == 401 {
				wantQuery += "\n" // the auth check answers with http.Error everywhere
			}
			if q.Code != tc.wantStatus || q.Body.String() != wantQuery {
				t.Errorf("query: %d %q, want %d %q", q.Code, q.Body.String(), tc.wantStatus, wantQuery)
			}
			if p.Code != tc.wantStatus || p.Body.String() != tc.wantBody+"\n" {
				t.Errorf("push: %d %q, want %d %q", p.Code, p.Body.String(), tc.wantStatus, tc.wantBody+"\n")
			}
			if len(f.meta.tenants)+len(f.pusher.tenants) != 0 {
				t.Error("request reached a dependency")
			}
		})
	}
}

func TestOperationalRoutesNeedNoTenant(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AuthEnabled = true })
	for _, target := range []string{"/ready", "/metrics", "/loki/api/v1/status/buildinfo"} {
		if w := f.request(http.MethodGet, target, nil); w.Code != 200 {
			t.Errorf("%s: %d", target, w.Code)
		}
	}
	if w := f.request(http.MethodPost, "/flush", nil); w.Code != 204 {
		t.Errorf("/flush: %d", w.Code)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"bad no-auth tenant", func(c *Config) { c.NoAuthTenant = "a|b" }, "invalid no_auth_tenant: tenant ID 'a|b' contains unsupported character '|'"},
		{"empty no-auth tenant", func(c *Config) { c.NoAuthTenant = "" }, "invalid no_auth_tenant: tenant ID is empty"},
		{"points", func(c *Config) { c.MaxQueryPoints = 0 }, "max_query_points must be positive"},
		{"recv size", func(c *Config) { c.MaxRecvMsgSize = 0 }, "max_recv_msg_size must be positive"},
		{"decompressed size", func(c *Config) { c.MaxDecompressedSize = -1 }, "max_decompressed_size must be positive"},
	} {
		cfg := DefaultConfig()
		tc.mutate(&cfg)
		err := cfg.Validate()
		if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}
