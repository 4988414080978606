//go:build !mutation

// Runs real processes for seconds to minutes: `make mutation` (build tag mutation) mutates the
// drill's invariant checks against the fast tests only.

package drill

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
)

// TestFaultDrill is the fast fault scenarios as `make test` runs them: a run stopped right after
// SwapTraffic moved the traffic, a failover-await process crashed inside an invocation, and two
// activations racing in opposite regions. Each must converge to one writer with all traffic on it,
// with the notices the scenario allows and no acknowledged write lost or stored twice.
func TestFaultDrill(t *testing.T) {
	mariadbtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	env, err := Start(ctx, Options{BuildDir: t.TempDir(), Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{KilledInSwap, CrashInAwait, Racing}
	reports, runErr := env.Run(ctx, names)
	if err := env.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if runErr != nil {
		t.Fatalf("drill: %v\n%s", runErr, progress.String())
	}
	if len(reports) != len(names) {
		t.Fatalf("%d reports, want %d", len(reports), len(names))
	}
	for _, r := range reports {
		if !r.Passed() {
			t.Errorf("%s failed its invariants: %v\n%s", r.Name, r.Failures, progress.String())
		}
		if n := len(r.Integrity.Lost) + len(r.Integrity.Duplicates); n != 0 || r.Integrity.Acked == 0 {
			t.Errorf("%s: %d acknowledged, %d lost, %d duplicated; want writes and none lost or duplicated",
				r.Name, r.Integrity.Acked, len(r.Integrity.Lost), len(r.Integrity.Duplicates))
		}
		t.Logf("%s: RTO %v, %d acknowledged", r.Name, r.RTO, r.Integrity.Acked)
	}
	// The faults were injected, not merely survived.
	for i, want := range []string{"StopExecution of region-b's run after SwapTraffic answered", "SIGKILL region-b's failover-await"} {
		found := false
		for _, p := range reports[i].Phases {
			found = found || strings.HasPrefix(p.Name, want)
		}
		if !found {
			t.Errorf("%s: no %q on the timeline: the fault did not happen", reports[i].Name, want)
		}
	}
}
