package qualitygate_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
)

// seededFinding is an OSV entry in the Go vulnerability database's format: every version of the
// MySQL driver affected through mysql.ParseDSN, which internal/config calls.
func seededFinding() map[string]any {
	return map[string]any{
		"schema_version": "1.3.1",
		"id":             "GO-2099-9999",
		"modified":       "2099-01-01T00:00:00Z",
		"published":      "2099-01-01T00:00:00Z",
		"summary":        "Seeded finding",
		"details":        "A finding seeded to prove that the vulnerability gate fails.",
		"affected": []any{map[string]any{
			"package": map[string]any{"name": "github.com/go-sql-driver/mysql", "ecosystem": "Go"},
			"ranges":  []any{map[string]any{"type": "SEMVER", "events": []any{map[string]any{"introduced": "0"}}}},
			"ecosystem_specific": map[string]any{"imports": []any{map[string]any{
				"path": "github.com/go-sql-driver/mysql", "symbols": []string{"ParseDSN"},
			}}},
		}},
		// govulncheck's text report needs it.
		"database_specific": map[string]any{"url": "https://switchyard.dev/seeded-finding"},
	}
}

// `make vulncheck` fails, naming the finding, when the scanned code reaches a vulnerable symbol.
func TestVulncheckFailsOnAReachableFinding(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is needed to run the gate as CI does: %v", err)
	}
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	db := t.TempDir()
	entry, err := json.Marshal(seededFinding())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(db, "GO-2099-9999.json"), entry, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-s", "vulncheck", "VULNDB="+db, "VULNCHECK_PACKAGES=./internal/config", "VULNCHECK_WASM_PACKAGES=")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("make vulncheck passed with a reachable seeded finding:\n%s", out)
	}
	for _, want := range []string{"GO-2099-9999", "mysql.ParseDSN", "vulncheck: the deployed code reaches a known vulnerability"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}
}
