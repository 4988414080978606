package qualitygate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/qualitygate"
)

func TestMutationFloor(t *testing.T) {
	for _, tt := range []struct {
		name                string
		killed, lived, none int
		floor               float64
		wantErr             string
	}{
		{"exactly at the floor", 19, 1, 0, 95, ""},
		{"just below the floor", 18, 1, 0, 95, "below the floor of 95"},
		{"all killed", 10, 0, 3, 100, ""},
		{"one lived against 100", 99, 1, 0, 100, "below the floor of 100"},
		{"nothing tested", 0, 0, 7, 0, "no mutant was tested"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := qualitygate.MutationResult{Killed: tt.killed, Lived: tt.lived, NotCovered: tt.none}.MeetsFloor(tt.floor)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("MeetsFloor(%g) = %v, want %q", tt.floor, err, tt.wantErr)
			}
		})
	}
}

// The report is gremlins' JSON output, as written by `gremlins unleash --output`.
func TestReadMutationResult(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	report := `{"go_module":"github.com/switchyard-dr/switchyard","files":[],"test_efficacy":90.63670411985018,` +
		`"mutations_coverage":79.94011976047905,"mutants_total":267,"mutants_killed":242,"mutants_lived":25,` +
		`"mutants_not_viable":0,"mutants_not_covered":67,"elapsed_time":1183.68}`
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := qualitygate.ReadMutationResult(path)
	if err != nil {
		t.Fatal(err)
	}
	if r != (qualitygate.MutationResult{Killed: 242, Lived: 25, NotCovered: 67}) || r.MeetsFloor(95) == nil || r.MeetsFloor(90) != nil {
		t.Errorf("read %+v (efficacy %.2f); want 242/25/67, below 95 and above 90", r, r.Efficacy())
	}
	if _, err := qualitygate.ReadMutationResult(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("a missing report was accepted")
	}
}
