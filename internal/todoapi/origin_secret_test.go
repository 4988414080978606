package todoapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todoapi"
)

// TestOriginSecret: with secrets configured, a request without the edge's header, or with a wrong
// one, is refused with 403 before it reaches the database; the current and the previous secret
// (a rotation in progress) are both accepted; GET /health, which Route 53 health checks call without
// headers, needs none.
func TestOriginSecret(t *testing.T) {
	current, previous := strings.Repeat("c", 40), strings.Repeat("p", 40)
	h := todoapi.New(todo.NewService(seeded(t), cursorKey), todoapi.Options{Region: region, OriginSecrets: []string{current, previous}})
	withHeader := func(name, value string) []byte {
		var ev map[string]any
		if err := json.Unmarshal(fixture(t, "create"), &ev); err != nil {
			t.Fatal(err)
		}
		headers, _ := ev["headers"].(map[string]any)
		if name != "" {
			headers[name] = value
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name, header, value string
		want                int
	}{
		{"no header", "", "", http.StatusForbidden},
		{"wrong secret", todoapi.OriginSecretHeader, strings.Repeat("x", 40), http.StatusForbidden},
		{"empty secret", todoapi.OriginSecretHeader, "", http.StatusForbidden},
		{"a prefix of the secret", todoapi.OriginSecretHeader, current[:39], http.StatusForbidden},
		{"current secret", todoapi.OriginSecretHeader, current, http.StatusCreated},
		{"previous secret", todoapi.OriginSecretHeader, previous, http.StatusCreated},
		{"header name in another case", "X-Switchyard-Origin-Secret", current, http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := invoke(t, h, withHeader(tt.header, tt.value))
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, resp.Body)
			}
			if tt.want == http.StatusForbidden && (!strings.Contains(resp.Body, todoapi.ProblemNotThroughEdge) || strings.Contains(resp.Body, current)) {
				t.Errorf("body %s: want the not-through-edge problem and no secret", resp.Body)
			}
		})
	}
	t.Run("health needs no secret", func(t *testing.T) {
		if resp := invoke(t, h, fixture(t, "health")); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", resp.StatusCode, resp.Body)
		}
	})
}
