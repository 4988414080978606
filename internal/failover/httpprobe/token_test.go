package httpprobe_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/failover/httpprobe"
)

// tokenServer is an OAuth 2.0 token endpoint for the client "canary" / "s3cr3t".
func tokenServer(t *testing.T, calls *atomic.Int32) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		id, secret, _ := r.BasicAuth()
		if r.Method != http.MethodPost || r.FormValue("grant_type") != "client_credentials" || id != "canary" || secret != "s3cr3t" {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok-" + r.FormValue("scope"), "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClientCredentials(t *testing.T) {
	var calls atomic.Int32
	now := time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC)
	cc := &httpprobe.ClientCredentials{TokenURL: tokenServer(t, &calls), Scope: "todos/write",
		Credentials: func(context.Context) (string, string, error) { return "canary", "s3cr3t", nil },
		Now:         func() time.Time { return now }}
	for range 2 {
		tok, err := cc.Token(context.Background())
		if err != nil || tok != "tok-todos/write" {
			t.Fatalf("Token = %q, %v; want tok-todos/write", tok, err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("%d token requests for two calls, want 1 (cached)", calls.Load())
	}
	now = now.Add(time.Hour)
	if _, err := cc.Token(context.Background()); err != nil || calls.Load() != 2 {
		t.Errorf("after expiry: %v, %d requests; want a fresh token", err, calls.Load())
	}

	wrong := &httpprobe.ClientCredentials{TokenURL: cc.TokenURL,
		Credentials: func(context.Context) (string, string, error) { return "canary", "wrong-secret", nil }}
	_, err := wrong.Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "401 invalid_client") || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("refused client: got %v, want the status and error code without the secret", err)
	}
	none := &httpprobe.ClientCredentials{}
	if tok, err := none.Token(context.Background()); tok != "" || err != nil {
		t.Errorf("without a token URL: got %q, %v; want no token", tok, err)
	}
}

// The canary's requests carry the bearer token an API with a JWT authorizer on writes needs.
func TestCanaryCarriesTheToken(t *testing.T) {
	var calls atomic.Int32
	api := todoAPI(t, "us-west-2", true)
	guarded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Header.Get("Authorization") != "Bearer tok-todos/write" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		proxyTo(t, api, w, r)
	}))
	t.Cleanup(guarded.Close)
	cc := &httpprobe.ClientCredentials{TokenURL: tokenServer(t, &calls), Scope: "todos/write",
		Credentials: func(context.Context) (string, string, error) { return "canary", "s3cr3t", nil }}

	p := httpprobe.New(2 * time.Second)
	if c, err := p.Canary(context.Background(), guarded.URL, "no-token"); err != nil || c.WriteStatus != http.StatusUnauthorized {
		t.Fatalf("without a token: got %+v, %v; want 401", c, err)
	}
	p.Token = cc.Token
	c, err := p.Canary(context.Background(), guarded.URL, "with-token")
	if err != nil || c.WriteStatus != http.StatusCreated || !c.ReadBack {
		t.Errorf("with the token: got %+v, %v; want the canary written and read back", c, err)
	}
}

func proxyTo(t *testing.T, base string, w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), r.Body)
	if err != nil {
		t.Error(err)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// The canary's requests carry the edge's origin secret, which a regional API behind an edge requires.
func TestCanaryCarriesTheOriginSecret(t *testing.T) {
	api := todoAPI(t, "us-west-2", true)
	secret := strings.Repeat("s", 40)
	guarded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Switchyard-Origin-Secret") != secret {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		proxyTo(t, api, w, r)
	}))
	t.Cleanup(guarded.Close)
	p := httpprobe.New(2 * time.Second)
	if c, err := p.Canary(context.Background(), guarded.URL, "no-secret"); err != nil || c.WriteStatus != http.StatusForbidden {
		t.Fatalf("without the secret: got %+v, %v; want 403", c, err)
	}
	p.OriginSecret = secret
	if c, err := p.Canary(context.Background(), guarded.URL, "with-secret"); err != nil || c.WriteStatus != http.StatusCreated || !c.ReadBack {
		t.Errorf("with the secret: got %+v, %v; want the canary written and read back", c, err)
	}
}
