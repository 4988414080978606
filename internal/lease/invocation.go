package lease

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"
)

// Invocation is the lease-renewer function's handler: one scheduled invocation renews for RunFor
// (cut short of the invocation's own deadline). The schedule starts one a minute and RunFor is
// most of two minutes, so two invocations overlap and a schedule that misses one costs nothing.
type Invocation struct {
	Renewer *Renewer
	RunFor  time.Duration
	Log     *slog.Logger
}

// Summary is what an invocation returns: how many ticks ended in each outcome, and the last lease.
type Summary struct {
	Ticks   map[Outcome]int `json:"ticks"`
	Holder  string          `json:"holder,omitempty"`
	Epoch   uint64          `json:"epoch,omitempty"`
	Expires time.Time       `json:"expires,omitzero"`
	LastErr string          `json:"lastError,omitempty"`
	// Degraded counts the times a renewal went through without one of the grantors.
	Degraded int           `json:"degraded,omitempty"`
	Duration time.Duration `json:"durationNs"`
}

// deadlineSlack is left between the last tick and the invocation's deadline.
const deadlineSlack = 3 * time.Second

// Handle runs the renewer; the scheduled event's content does not matter.
func (h *Invocation) Handle(ctx context.Context, _ json.RawMessage) (Summary, error) {
	start := time.Now()
	until := start.Add(h.RunFor)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-deadlineSlack).Before(until) {
		until = dl.Add(-deadlineSlack)
	}
	s := Summary{Ticks: map[Outcome]int{}}
	var last Outcome
	var lastMissing string
	h.Renewer.Run(ctx, until, func(res TickResult) {
		s.Ticks[res.Outcome]++
		s.Holder, s.Epoch, s.Expires = res.Lease.Holder, res.Lease.Epoch, res.Lease.Expires
		if res.Err != nil {
			s.LastErr = res.Err.Error()
		}
		// One line per change of outcome, and every failure: a steady renewal logs once.
		if res.Outcome != last || res.Err != nil {
			attrs := []any{"outcome", string(res.Outcome), "holder", res.Lease.Holder, "epoch", res.Lease.Epoch}
			if res.Err != nil {
				attrs = append(attrs, "error", res.Err.Error())
			}
			h.Log.Info("lease", attrs...)
		}
		last = res.Outcome
		var missing []string
		for _, m := range res.Missing {
			missing = append(missing, m.Grantor+": "+m.Err.Error())
		}
		if m := strings.Join(missing, "; "); m != lastMissing {
			if m != "" {
				s.Degraded++
				h.Log.Warn("lease renewed without every grantor: one more failure would cost it", "holder", res.Lease.Holder, "epoch", res.Lease.Epoch, "failed", m)
			} else {
				h.Log.Info("lease renewed by every grantor again", "holder", res.Lease.Holder, "epoch", res.Lease.Epoch)
			}
			lastMissing = m
		}
	})
	s.Duration = time.Since(start)
	return s, nil
}
