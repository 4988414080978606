//go:build !mutation

// Runs real processes for seconds to minutes: `make mutation` (build tag mutation) mutates the
// drill's invariant checks against the fast tests only.

package drill

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
)

// TestPlannedSwitchoverDrill is the drill's planned switchover as `make test` runs it: both
// regions on real MariaDB replication and the real function binaries, the edge in front, the
// orchestrator moving the writer and the traffic under load. Nothing acknowledged may be lost and
// nothing may be stored twice.
func TestPlannedSwitchoverDrill(t *testing.T) {
	mariadbtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	env, err := Start(ctx, Options{BuildDir: t.TempDir(), Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	reports, runErr := env.Run(ctx, []string{Switchover})
	if err := env.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if runErr != nil {
		t.Fatalf("drill: %v\n%s", runErr, progress.String())
	}
	if len(reports) != 1 {
		t.Fatalf("%d reports, want 1", len(reports))
	}
	r := reports[0]
	if !r.Passed() {
		t.Errorf("switchover failed its invariants: %v\n%s", r.Failures, progress.String())
	}
	if n := len(r.Integrity.Lost); n != 0 {
		t.Errorf("%d acknowledged writes lost, want 0", n)
	}
	if n := len(r.Integrity.Duplicates); n != 0 {
		t.Errorf("%d duplicated writes, want 0", n)
	}
	if r.Integrity.Acked < 20 {
		t.Errorf("only %d writes acknowledged: the load did not run through the switchover", r.Integrity.Acked)
	}
	if r.Outcomes["write 201"] == 0 || r.Outcomes["read 200"] == 0 {
		t.Errorf("outcomes %v: want successful writes and reads", r.Outcomes)
	}
	// The writes went to region-a first and region-b after: the traffic moved.
	regions := map[string]bool{}
	for _, a := range r.Attempts {
		if a.Status == 201 {
			regions[a.Region] = true
		}
	}
	if !regions["us-east-1"] || !regions["us-west-2"] {
		t.Errorf("writes served by %v, want both us-east-1 and us-west-2", regions)
	}
	w, _ := env.Pair.Roles()
	if w != env.B.DB {
		t.Errorf("writer after the switchover is %s, want region-b", w.Name)
	}
	t.Logf("switchover RTO %v, %d writes acknowledged", r.RTO, r.Integrity.Acked)
}

// BenchmarkSwitchoverRTO runs the planned switchover under load back and forth between the
// regions and reports the RTO clients saw (rto-ms) and the acknowledged writes lost (lost).
func BenchmarkSwitchoverRTO(b *testing.B) {
	mariadbtest.Require(b)
	ctx := context.Background()
	env, err := Start(ctx, Options{BuildDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	var rto time.Duration
	lost, runs := 0, 0
	for i := 0; b.Loop(); i++ {
		name := Switchover
		if i%2 == 1 {
			name = Failback
		}
		reports, err := env.Run(ctx, []string{name})
		if err != nil {
			b.Fatal(err)
		}
		rto += reports[0].RTO
		lost += len(reports[0].Integrity.Lost)
		runs++
	}
	b.ReportMetric(float64(rto.Milliseconds())/float64(runs), "rto-ms")
	b.ReportMetric(float64(lost), "lost")
}
