package sfnlocal_test

import (
	"fmt"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// BenchmarkLocalSwitchover measures the orchestration overhead of a switchover from the trigger's
// invocation to the published notification (target ≤ 2 s), with a near-zero-delay localcloud. Each
// iteration activates the region that is not writing, so the regions take turns (failover and
// failback). Reported per phase as the notification gives them; execution-ms runs from the
// execution's start, so trigger-to-notify-ms minus it is the trigger and the runner's start-up.
func BenchmarkLocalSwitchover(b *testing.B) {
	d := newDrill(b, localcloud.Timing{FailoverPending: 1e6, FailoverPromote: 1e6, CloudFrontPropagation: 1e6})
	regions := []string{"us-west-2", "us-east-1"}
	// One warm-up round trip starts every function's process, as a warm Lambda would be.
	for _, r := range regions {
		if _, status, _ := d.activate(b, r, failover.ModeSwitchover, "warm-up"); status != localcloud.ExecutionSucceeded {
			b.Fatalf("warm-up in %s: %s", r, status)
		}
	}
	phases := map[string]int64{}
	var toNotify, execution int64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_, status, rep := d.activate(b, regions[i%2], failover.ModeSwitchover, fmt.Sprintf("bench %d", i))
		if status != localcloud.ExecutionSucceeded {
			b.Fatalf("iteration %d: %s: %+v", i, status, rep.Error)
		}
		for _, p := range rep.Phases {
			phases[p.Name] += p.DurationMs
		}
		toNotify += rep.SinceDetectionMs
		execution += rep.TotalMs
	}
	n := float64(b.N)
	b.ReportMetric(float64(toNotify)/n, "trigger-to-notify-ms")
	b.ReportMetric(float64(execution)/n, "execution-ms")
	for name, ms := range phases {
		b.ReportMetric(float64(ms)/n, name+"-ms")
	}
}
