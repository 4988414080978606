package drill

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
)

// Row is one todo the drill wrote, as a server holds it.
type Row struct{ ID, Task string }

// runRows reads the todos of this run from a server, as root so that a read-only or fenced
// server answers too.
func runRows(ctx context.Context, s *mariadb.Server, database, runID string) ([]Row, error) {
	db, err := s.Admin()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT id, task FROM `"+database+"`.todos WHERE task LIKE ? ORDER BY id", "drill "+runID+"-%")
	if err != nil {
		return nil, fmt.Errorf("read the drill's rows from %s: %w", s.Name, err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.ID, &r.Task); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Integrity is what the final writer holds compared with what clients were told.
type Integrity struct {
	Acked int
	// Lost are acknowledged writes absent from the final writer (or present under another id).
	Lost []Write
	// Duplicates are tasks stored more than once: one logical write applied twice.
	Duplicates []string
	Rows       int
}

// CheckIntegrity compares acknowledged writes with the rows of the final writer.
func CheckIntegrity(acked []Write, rows []Row) Integrity {
	in := Integrity{Acked: len(acked), Rows: len(rows)}
	byTask := map[string][]string{}
	for _, r := range rows {
		byTask[r.Task] = append(byTask[r.Task], r.ID)
	}
	for _, w := range acked {
		ids := byTask[w.Task]
		found := false
		for _, id := range ids {
			found = found || id == w.ID
		}
		if !found {
			in.Lost = append(in.Lost, w)
		}
	}
	for task, ids := range byTask {
		if len(ids) > 1 {
			in.Duplicates = append(in.Duplicates, task)
		}
	}
	sort.Strings(in.Duplicates)
	sort.Slice(in.Lost, func(i, j int) bool { return in.Lost[i].Acked.Before(in.Lost[j].Acked) })
	return in
}

// Outage is the RTO window of one kind of request: from the later of the fault and the first
// failure the fault caused, to the end of the first success of a request that started no earlier.
// A request already in flight when the outage began says nothing about recovery, however it ends.
type Outage struct {
	Op string
	// FirstFailure is when the first request that failed because of the fault started; it may be
	// before the fault (a request in flight).
	FirstFailure time.Time
	// First is where the outage is measured from; Back the end of the first success started at or
	// after First.
	First, Back time.Time
	Recovered   bool
}

// RTO is the outage's length; for an outage that never recovered, until end.
func (o Outage) RTO(end time.Time) time.Duration {
	if o.Recovered {
		return o.Back.Sub(o.First)
	}
	return end.Sub(o.First)
}

// Outages finds, for writes and reads separately, the outage that fault caused: the failures that
// ended at or after fault (a zero fault counts every failure), measured from the later of fault and
// the first of those failures' start, until the first success of a request started at or after
// that point. Kinds that never failed after the fault have no outage.
func Outages(attempts []Attempt, fault time.Time) []Outage {
	var out []Outage
	sorted := sortedByStart(attempts)
	for _, op := range []string{"write", "read"} {
		var o *Outage
		for _, a := range sorted {
			if a.Op != op || !a.Failed() || a.Start.Add(a.Latency).Before(fault) {
				continue
			}
			o = &Outage{Op: op, FirstFailure: a.Start, First: a.Start}
			if a.Start.Before(fault) {
				o.First = fault
			}
			break
		}
		if o == nil {
			continue
		}
		for _, a := range sorted {
			if a.Op == op && !a.Failed() && !a.Start.Before(o.First) {
				o.Back, o.Recovered = a.Start.Add(a.Latency), true
				break
			}
		}
		out = append(out, *o)
	}
	return out
}

func sortedByStart(attempts []Attempt) []Attempt {
	s := append([]Attempt(nil), attempts...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Start.Before(s[j].Start) })
	return s
}

// outcomeKey names an attempt's outcome for the counts: "write 201", "read 503",
// "write no answer (connection refused)".
func outcomeKey(a Attempt) string {
	if a.Status == 0 {
		return fmt.Sprintf("%s no answer (%s)", a.Op, a.Err)
	}
	return fmt.Sprintf("%s %d", a.Op, a.Status)
}

// CountOutcomes counts attempts by outcomeKey.
func CountOutcomes(attempts []Attempt) map[string]int {
	m := map[string]int{}
	for _, a := range attempts {
		m[outcomeKey(a)]++
	}
	return m
}

// holdWriteInvariants fails rep for what its integrity check (rep.Integrity) found: any write
// stored twice, no write acknowledged at all (the load did not run), and, unless the scenario
// allows data loss (lossAllowed; its loss is held by the lease's window instead), any
// acknowledged write missing.
func holdWriteInvariants(rep *ScenarioReport, lossAllowed bool) {
	if n := len(rep.Integrity.Duplicates); n > 0 {
		rep.failf("%d writes were stored twice", n)
	}
	if rep.Integrity.Acked == 0 {
		rep.failf("no write was acknowledged: the load did not run")
	}
	if n := len(rep.Integrity.Lost); n > 0 && !lossAllowed {
		rep.failf("%d acknowledged writes are missing after %s, which must lose nothing", n, rep.Name)
	}
}

// checkLossWindow holds the data-loss invariants of a failover from region A, whose lease ended
// at end: A acknowledged nothing after it, every lost write was acknowledged inside the window the
// notification reported (ending there), and the measured span of the loss does not exceed the
// estimate. rep.Integrity must already compare acked with the new writer's rows.
func (e *Env) checkLossWindow(rep *ScenarioReport, acked []Write, end time.Time) {
	rep.Lease.LeaseExpiry = end
	for _, w := range acked {
		if w.Region == e.A.AWSRegion && w.Acked.After(end) {
			rep.Lease.AckedAfterExpiry++
		}
	}
	if n := rep.Lease.AckedAfterExpiry; n > 0 || end.IsZero() {
		rep.failf("%s acknowledged %d writes after its lease ended at %s", e.A.Name, n, end.Format("15:04:05.000"))
	}
	window := time.Duration(rep.Lease.ReportedLossWindowMs) * time.Millisecond
	for _, l := range rep.Integrity.Lost {
		var at time.Time
		for _, w := range acked {
			if w.ID == l.ID {
				at = w.Acked
			}
		}
		rep.Lease.MeasuredLossWindow = max(rep.Lease.MeasuredLossWindow, end.Sub(at))
		if rep.Lease.ReportedLossWindowMs < 0 || at.Before(end.Add(-window)) {
			rep.failf("lost write %s was acknowledged at %s, outside the reported data-loss window (%d ms before %s)",
				l.ID, at.Format("15:04:05.000"), rep.Lease.ReportedLossWindowMs, end.Format("15:04:05.000"))
		}
	}
	rep.How = append(rep.How, fmt.Sprintf("%s's lease ended at +%s; it acknowledged %d writes after that; the lost writes span %s before it, the notification allowed %d ms",
		e.A.Name, ms(end.Sub(rep.Start)), rep.Lease.AckedAfterExpiry, ms(rep.Lease.MeasuredLossWindow), rep.Lease.ReportedLossWindowMs))
	// Every lost write inside the window is the same as the estimate covering the measured span: a
	// span beyond the estimate has already failed above, naming the write that lies outside.
}
