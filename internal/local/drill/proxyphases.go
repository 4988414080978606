package drill

import (
	"fmt"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/rdsproxy"
)

// queuedEvent is one request a region's RDS Proxy held before answering it.
type queuedEvent struct {
	Region string
	rdsproxy.Queued
}

func (e *Env) onQueued(region string) func(rdsproxy.Queued) {
	return func(q rdsproxy.Queued) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.queued = append(e.queued, queuedEvent{Region: region, Queued: q})
	}
}

// addProxyPhases puts on the timeline, per region, the span in which its RDS Proxy held
// requests (a promotion in progress, or a database that did not answer) and how they ended.
func (e *Env) addProxyPhases(rep *ScenarioReport, start time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range []*Region{e.A, e.B} {
		var first, last time.Time
		var longest time.Duration
		outcomes := map[string]int{}
		for _, q := range e.queued {
			if q.Region != r.Name || q.Start.Before(start) {
				continue
			}
			if first.IsZero() || q.Start.Before(first) {
				first = q.Start
			}
			if q.End.After(last) {
				last = q.End
			}
			longest = max(longest, q.End.Sub(q.Start))
			outcomes[q.Outcome]++
		}
		if first.IsZero() {
			continue
		}
		rep.Phases = append(rep.Phases, Phase{
			Name:  fmt.Sprintf("proxy %s held requests: %s; longest %s", r.Name, outcomeList(outcomes), ms(longest)),
			Start: first, End: last,
		})
	}
}

func outcomeList(m map[string]int) string {
	s := ""
	for _, k := range []string{"served", "no writer", "borrow timeout", "refused"} {
		if m[k] > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%d %s", m[k], k)
		}
	}
	return s
}
