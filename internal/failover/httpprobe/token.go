package httpprobe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ClientCredentials gets access tokens with the OAuth 2.0 client credentials grant, so that canary
// writes pass an API whose mutating routes need a JWT with a write scope. A token is reused until a
// minute before it expires. With no TokenURL there is no token, and requests go without one.
type ClientCredentials struct {
	TokenURL string
	Scope    string
	// Credentials returns the client's ID and secret; it is called when a token is needed.
	Credentials func(ctx context.Context) (id, secret string, err error)
	Client      *http.Client
	Now         func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// Token returns a valid access token, or "" when no token endpoint is configured.
func (c *ClientCredentials) Token(ctx context.Context) (string, error) {
	if c.TokenURL == "" {
		return "", nil
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && now().Before(c.expires) {
		return c.token, nil
	}
	id, secret, err := c.Credentials(ctx)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if c.Scope != "" {
		form.Set("scope", c.Scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("canary token: CANARY_TOKEN_URL %q: %w", c.TokenURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("canary token: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(raw, &body)
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		return "", fmt.Errorf("canary token: %s answered %d %s: check the client in CANARY_CLIENT_SECRET_ARN and its scope %q",
			c.TokenURL, resp.StatusCode, body.Error, c.Scope)
	}
	c.token = body.AccessToken
	c.expires = now().Add(time.Duration(body.ExpiresIn)*time.Second - time.Minute)
	return c.token, nil
}
