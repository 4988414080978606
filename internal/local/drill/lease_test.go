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

// TestWriterLeaseDrill is the partition and witness-down scenarios as `make test` runs them, with
// the drill's compressed lease timings: region A alive, reachable by clients and writing, but
// cut from region B, the witness, replication and the control plane; then, after A is back as
// the writer, the witness gone. Both regions may never acknowledge at once, A nothing after its
// lease, and the loss must sit inside the window the notification reported.
func TestWriterLeaseDrill(t *testing.T) {
	mariadbtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	env, err := Start(ctx, Options{BuildDir: t.TempDir(), Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	reports, runErr := env.Run(ctx, []string{Partition, WitnessDown})
	if err := env.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if runErr != nil {
		t.Fatalf("drill: %v\n%s", runErr, progress.String())
	}
	if len(reports) != 2 {
		t.Fatalf("%d reports, want 2", len(reports))
	}
	for _, r := range reports {
		if !r.Passed() {
			t.Errorf("%s failed its invariants: %v\n%s", r.Name, r.Failures, progress.String())
		}
		s := Summarise(r)
		if s.BothWritableMs != 0 || s.DuplicateWrites != 0 {
			t.Errorf("%s: %+v; want no instant with two writers and no duplicate", r.Name, s)
		}
	}
	p := reports[0]
	if p.Lease == nil || p.Lease.AckedAfterExpiry != 0 || p.Lease.LeaseExpiry.IsZero() {
		t.Fatalf("partition: lease outcome %+v; want region A's lease end known and nothing acknowledged after it", p.Lease)
	}
	if p.Lease.ReportedLossWindowMs < 0 || p.Lease.MeasuredLossWindow > time.Duration(p.Lease.ReportedLossWindowMs)*time.Millisecond {
		t.Errorf("partition: measured loss window %s, reported %d ms", p.Lease.MeasuredLossWindow, p.Lease.ReportedLossWindowMs)
	}
	t.Logf("partition: RTO %v, %d acknowledged, %d lost within a reported window of %d ms (measured %v)",
		p.RTO, p.Integrity.Acked, len(p.Integrity.Lost), p.Lease.ReportedLossWindowMs, p.Lease.MeasuredLossWindow)
}
