package todoapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/memstore"
)

// logLine serves one request and returns its single log line, and how long Handle took as seen from
// outside.
func logLine(t *testing.T, store todo.Store, req httpRequest) (map[string]any, time.Duration) {
	t.Helper()
	var logs bytes.Buffer
	h := newHandler(store, slog.New(slog.NewJSONHandler(&logs, nil)))
	start := time.Now()
	if _, err := h.Handle(context.Background(), req.event()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	return line, took
}

// The log line's level and error follow the outcome: a failure of ours is an ERROR with its cause, a
// refused request is INFO without one (its problem went to the caller, and a log full of client
// mistakes hides ours). latencyMs is in milliseconds.
func TestLogLineFollowsTheOutcome(t *testing.T) {
	reader := memstore.New()
	reader.SetRole(todo.RoleReader)
	tests := []struct {
		name      string
		store     todo.Store
		req       httpRequest
		wantLevel string
		wantError bool
	}{
		{"success", seeded(t), httpRequest{method: "GET", path: "/todos/" + seedID}, "INFO", false},
		{"invalid request", seeded(t), httpRequest{method: "POST", path: "/todos", body: `{"task":""}`}, "INFO", false},
		{"not found", seeded(t), httpRequest{method: "GET", path: "/todos/01936b2a-7c00-7000-8000-00000000000f"}, "INFO", false},
		{"internal failure", panickyStore{memstore.New()}, httpRequest{method: "GET", path: "/todos/" + seedID}, "ERROR", true},
		{"region not writer", reader, httpRequest{method: "POST", path: "/todos", body: `{"task":"x"}`}, "ERROR", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, took := logLine(t, tt.store, tt.req)
			if line["level"] != tt.wantLevel {
				t.Errorf("level = %v, want %s; line %v", line["level"], tt.wantLevel, line)
			}
			if _, has := line["error"]; has != tt.wantError {
				t.Errorf("error attribute present = %v, want %v; line %v", has, tt.wantError, line)
			}
			ms, ok := line["latencyMs"].(float64)
			if !ok || ms < 0 || ms > float64(took.Microseconds())/1000+1 {
				t.Errorf("latencyMs = %v, want between 0 and the %v Handle took", line["latencyMs"], took)
			}
		})
	}
}

// The path comes from rawPath; requestContext.http.path is used only when rawPath is empty.
func TestPathFallsBackToTheRequestContext(t *testing.T) {
	h := newHandler(seeded(t), nil)
	for _, tt := range []struct {
		raw, ctxPath string
		want         int
	}{
		{"/health", "", 200},
		{"", "/health", 200},
		{"/health", "/nowhere", 200},
	} {
		ev := httpRequest{method: "GET", path: tt.raw}.event()
		ev.RequestContext.HTTP.Path = tt.ctxPath
		resp, _ := h.Handle(context.Background(), ev)
		if resp.StatusCode != tt.want {
			t.Errorf("rawPath %q, http.path %q: status %d, want %d", tt.raw, tt.ctxPath, resp.StatusCode, tt.want)
		}
	}
}
