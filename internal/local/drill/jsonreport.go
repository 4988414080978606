package drill

import (
	"encoding/json"
	"io"
	"time"
)

// ScenarioSummary is one scenario run in .build/drill-report.json: the figures a tool compares
// across runs.
type ScenarioSummary struct {
	Name               string `json:"name"`
	Result             string `json:"result"` // PASS or FAIL
	RTOMs              RTOMs  `json:"rtoMs"`
	AcknowledgedWrites int    `json:"acknowledgedWrites"`
	LostWrites         int    `json:"lostWrites"`
	DuplicateWrites    int    `json:"duplicateWrites"`
	// ReportedLossWindowMs is the orchestrator's data-loss estimate in its notification; -1 when
	// the scenario made none.
	ReportedLossWindowMs int64 `json:"reportedLossWindowMs"`
	// BothWritableMs is how long both regions acknowledged writes at once: the overlap of the
	// spans between each region's first and last acknowledgement.
	BothWritableMs int64 `json:"bothWritableMs"`
	// RPO is the rpo-max scenario's figures.
	RPO *RPOSummary `json:"rpo,omitempty"`
}

// RPOSummary is what the rpo-max scenario measured, in milliseconds.
type RPOSummary struct {
	RPOMaxMs int64 `json:"rpoMaxMs"`
	// StaleToRefusalMs runs from the standby's last heartbeat to the writer's first refusal.
	StaleToRefusalMs int64 `json:"staleToRefusalMs"`
	// RefusedMs is how long the writer refused writes; HealToWriteMs how long after replication
	// resumed it acknowledged again.
	RefusedMs     int64 `json:"refusedMs"`
	HealToWriteMs int64 `json:"healToWriteMs"`
	// ExposedWrites were acknowledged after the standby's last heartbeat, before the heal; the
	// last of them ExposedSpanMs after it. AckedBeyondBound must be 0.
	ExposedWrites    int   `json:"exposedWrites"`
	ExposedSpanMs    int64 `json:"exposedSpanMs"`
	AckedBeyondBound int   `json:"ackedBeyondBound"`
}

// RTOMs is the longest outage of each operation, in milliseconds.
type RTOMs struct {
	Read  int64 `json:"read"`
	Write int64 `json:"write"`
}

// Summarise reduces a scenario report to its JSON summary.
func Summarise(r *ScenarioReport) ScenarioSummary {
	s := ScenarioSummary{Name: r.Name, Result: "PASS", AcknowledgedWrites: r.Integrity.Acked,
		LostWrites: len(r.Integrity.Lost), DuplicateWrites: len(r.Integrity.Duplicates), ReportedLossWindowMs: -1}
	if !r.Passed() {
		s.Result = "FAIL"
	}
	if r.Lease != nil {
		s.ReportedLossWindowMs = r.Lease.ReportedLossWindowMs
	}
	if o := r.RPO; o != nil {
		s.RPO = &RPOSummary{RPOMaxMs: o.RPOMax.Milliseconds(), StaleToRefusalMs: o.StaleToRefusal.Milliseconds(), RefusedMs: o.Refused.Milliseconds(),
			HealToWriteMs: o.HealToWrite.Milliseconds(), ExposedWrites: o.Exposed, ExposedSpanMs: o.ExposedSpan.Milliseconds(), AckedBeyondBound: o.AckedBeyondBound}
	}
	spans := map[string][2]time.Time{}
	for _, a := range r.Attempts {
		if a.Op == "write" && a.Status == 201 {
			at, sp := a.Start.Add(a.Latency), spans[a.Region]
			if sp[0].IsZero() || at.Before(sp[0]) {
				sp[0] = at
			}
			if at.After(sp[1]) {
				sp[1] = at
			}
			spans[a.Region] = sp
		}
	}
	for _, o := range Outages(r.Attempts, r.Fault) {
		switch o.Op {
		case "read":
			s.RTOMs.Read = max(s.RTOMs.Read, o.RTO(r.End).Milliseconds())
		case "write":
			s.RTOMs.Write = max(s.RTOMs.Write, o.RTO(r.End).Milliseconds())
		}
	}
	var regions [][2]time.Time
	for _, sp := range spans {
		regions = append(regions, sp)
	}
	for i := range regions {
		for j := i + 1; j < len(regions); j++ {
			lo, hi := maxTime(regions[i][0], regions[j][0]), minTime(regions[i][1], regions[j][1])
			if hi.After(lo) {
				s.BothWritableMs = max(s.BothWritableMs, hi.Sub(lo).Milliseconds())
			}
		}
	}
	return s
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// WriteJSON writes {"scenarios": [...]} for the reports, in running order.
func WriteJSON(w io.Writer, reports []*ScenarioReport) error {
	out := struct {
		Scenarios []ScenarioSummary `json:"scenarios"`
	}{Scenarios: []ScenarioSummary{}}
	for _, r := range reports {
		out.Scenarios = append(out.Scenarios, Summarise(r))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
