package startup

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"testing"
)

func TestCheck(t *testing.T) {
	var code int
	exit = func(c int) { code = c }
	t.Cleanup(func() { exit = os.Exit })

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	Check(log, "todo-api", "configuration", nil)
	if code != 0 || logs.Len() != 0 {
		t.Fatalf("no error: exited %d and logged %q, want nothing", code, logs.String())
	}
	Check(log, "todo-api", "configuration", errors.New("DB_AUTH: want password, secret or iam"))
	if code != 1 {
		t.Errorf("exit status: got %d, want 1", code)
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q", logs.String())
	}
	want := map[string]any{"level": "ERROR", "msg": "todo-api cannot start", "function": "todo-api", "step": "configuration",
		"error": "DB_AUTH: want password, secret or iam"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s: got %v, want %v", k, line[k], v)
		}
	}
}
