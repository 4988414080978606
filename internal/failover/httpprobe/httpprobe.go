// Package httpprobe implements the failover Prober over net/http against the ToDo API's contract:
// GET /health answers {region, role, db, version}; every response names its serving region in the
// X-Switchyard-Region header; a write refused because the region does not write is a 503 whose
// problem type ends in "region-not-writer".
package httpprobe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// RegionHeader names the region that served a response.
const RegionHeader = "X-Switchyard-Region"

// Prober speaks to a region's API with short timeouts.
type Prober struct {
	// Client's Timeout bounds each request; New sets it.
	Client *http.Client
	// Token, when set, gives the bearer token the canary's requests carry (health checks carry
	// none); an empty token means none is needed.
	Token func(ctx context.Context) (string, error)
	// OriginSecret, when set, goes on every canary request as x-switchyard-origin-secret: behind an
	// edge the regional API refuses requests without it, and the canary writes to this region's API
	// directly. The edge replaces any viewer value with its own on the public path.
	OriginSecret string
}

var _ failover.Prober = (*Prober)(nil)

// New returns a Prober whose requests each time out after timeout.
func New(timeout time.Duration) *Prober {
	return &Prober{Client: &http.Client{Timeout: timeout}}
}

// Health asks baseURL's /health. A non-200 answer is not an error: the status says it.
func (p *Prober) Health(ctx context.Context, baseURL string) (failover.Health, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(baseURL, "/")+"/health", nil)
	if err != nil {
		return failover.Health{}, err
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return failover.Health{Latency: time.Since(start)}, err
	}
	defer resp.Body.Close()
	var body struct {
		Region string `json:"region"`
		Role   string `json:"role"`
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	h := failover.Health{Status: resp.StatusCode, Region: resp.Header.Get(RegionHeader), Latency: time.Since(start)}
	if err != nil {
		return h, fmt.Errorf("read %s: %w", req.URL, err)
	}
	if json.Unmarshal(raw, &body) == nil {
		h.Role = body.Role
		if body.Region != "" {
			h.Region = body.Region
		}
	}
	return h, nil
}

// Canary creates a ToDo item under an idempotency key, reads it back and deletes it. Transport
// failures are errors; HTTP answers are described in the result.
func (p *Prober) Canary(ctx context.Context, baseURL, key string) (failover.Canary, error) {
	base := strings.TrimSuffix(baseURL, "/")
	task := "switchyard canary " + key
	body, _ := json.Marshal(map[string]string{"task": task, "status": "todo"})
	resp, raw, err := p.do(ctx, http.MethodPost, base+"/todos", body, key)
	if err != nil {
		return failover.Canary{}, err
	}
	c := failover.Canary{WriteStatus: resp.StatusCode, WriteRegion: resp.Header.Get(RegionHeader)}
	if resp.StatusCode != http.StatusCreated {
		var problem struct {
			Type   string `json:"type"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(raw, &problem)
		c.NotWriter = strings.HasSuffix(problem.Type, "region-not-writer")
		c.Detail = fmt.Sprintf("POST /todos answered %d %s", resp.StatusCode, problem.Type)
		return c, nil
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.ID == "" {
		c.Detail = "POST /todos answered 201 without an id"
		return c, nil
	}
	resp, raw, err = p.do(ctx, http.MethodGet, base+"/todos/"+created.ID, nil, "")
	if err != nil {
		return c, err
	}
	c.ReadRegion = resp.Header.Get(RegionHeader)
	var read struct {
		Task string `json:"task"`
	}
	if resp.StatusCode == http.StatusOK && json.Unmarshal(raw, &read) == nil && read.Task == task {
		c.ReadBack = true
	} else {
		c.Detail = fmt.Sprintf("GET /todos/%s answered %d without the canary's task", created.ID, resp.StatusCode)
	}
	// The canary is removed on a best-effort basis: a leftover item is harmless and visible.
	if resp, _, err := p.do(ctx, http.MethodDelete, base+"/todos/"+created.ID, nil, ""); err == nil && resp.StatusCode != http.StatusNoContent {
		c.Detail = strings.TrimPrefix(c.Detail+"; ", "; ") + fmt.Sprintf("DELETE /todos/%s answered %d", created.ID, resp.StatusCode)
	}
	return c, nil
}

func (p *Prober) do(ctx context.Context, method, url string, body []byte, idempotencyKey string) (*http.Response, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	if p.OriginSecret != "" {
		req.Header.Set("X-Switchyard-Origin-Secret", p.OriginSecret)
	}
	if p.Token != nil {
		token, err := p.Token(ctx)
		if err != nil {
			return nil, nil, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s %s: %w", method, url, err)
	}
	return resp, raw, nil
}
