//go:build !mutation

// Runs real processes for seconds to minutes: `make mutation` (build tag mutation) mutates the
// drill's invariant checks against the fast tests only.

package drill

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
)

func TestGroupsGiveRPOMaxItsOwnEnvironment(t *testing.T) {
	tests := []struct {
		names []string
		want  []Group
	}{
		{[]string{Switchover, Unplanned}, []Group{{Names: []string{Switchover, Unplanned}}}},
		{[]string{RPOMax}, []Group{{Names: []string{RPOMax}, RPOMax: DrillRPOMax}}},
		{[]string{Partition, RPOMax, Lag}, []Group{{Names: []string{Partition}}, {Names: []string{RPOMax}, RPOMax: DrillRPOMax}, {Names: []string{Lag}}}},
	}
	for _, tt := range tests {
		got := Groups(tt.names)
		if !slices.EqualFunc(got, tt.want, func(a, b Group) bool { return a.RPOMax == b.RPOMax && slices.Equal(a.Names, b.Names) }) {
			t.Errorf("Groups(%v) = %+v, want %+v", tt.names, got, tt.want)
		}
	}
	if slices.Contains(CoreScenarios, RPOMax) || !slices.Contains(Scenarios, RPOMax) {
		t.Errorf("rpo-max must be among all scenarios and not among the core ones: %v / %v", Scenarios, CoreScenarios)
	}
}

// TestRPOMaxDrill is the rpo-max scenario as `make test` runs it: region A writing with RPO_MAX
// set while region B's replication stops. A must refuse writes within RPO_MAX and a renewal of
// B's heartbeat going stale, acknowledge none beyond that bound, write again soon after the heal,
// and lose nothing.
func TestRPOMaxDrill(t *testing.T) {
	mariadbtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	env, err := Start(ctx, Options{BuildDir: t.TempDir(), Progress: &progress, RPOMax: DrillRPOMax})
	if err != nil {
		t.Fatal(err)
	}
	reports, runErr := env.Run(ctx, []string{RPOMax})
	if err := env.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if runErr != nil {
		t.Fatalf("drill: %v\n%s", runErr, progress.String())
	}
	r := reports[0]
	if !r.Passed() {
		t.Errorf("rpo-max failed its invariants: %v\n%s", r.Failures, progress.String())
	}
	o := r.RPO
	if o == nil || o.StaleToRefusal <= 0 || o.Refused <= 0 || o.AckedBeyondBound != 0 || len(r.Integrity.Lost) != 0 {
		t.Fatalf("rpo outcome %+v, %d lost; want a refusal, nothing acknowledged beyond the bound, nothing lost", o, len(r.Integrity.Lost))
	}
	t.Logf("rpo-max: refused %v after the heartbeat went stale, for %v; %d exposed writes over %v; writing again %v after the heal",
		o.StaleToRefusal, o.Refused, o.Exposed, o.ExposedSpan, o.HealToWrite)
}
