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

// Violations are the invariants a scenario's writes break, one sentence each; none means they
// held. Everywhere: some write was acknowledged (else the load did not run) and no write is stored
// twice. A planned scenario (switchover, failback) loses nothing. An unplanned failover may lose
// only acknowledged writes that were among the transactions the old writer had and the new one
// never received (diverged), and no more of them than the GTID gap counts.
func Violations(scenario string, in Integrity, diverged []Row, gtidGap uint64) []string {
	var v []string
	if in.Acked == 0 {
		v = append(v, "no write was acknowledged: the load did not run")
	}
	if n := len(in.Duplicates); n > 0 {
		v = append(v, fmt.Sprintf("%d writes were stored twice", n))
	}
	if scenario != Unplanned {
		if n := len(in.Lost); n > 0 {
			v = append(v, fmt.Sprintf("%d acknowledged writes are missing after a %s, which must lose nothing", n, scenario))
		}
		return v
	}
	lostByFailover := map[string]bool{}
	for _, r := range diverged {
		lostByFailover[r.Task] = true
	}
	for _, l := range in.Lost {
		if !lostByFailover[l.Task] {
			v = append(v, fmt.Sprintf("acknowledged write %s (%q) is missing but was not among the transactions the failover lost", l.ID, l.Task))
		}
	}
	if uint64(len(in.Lost)) > gtidGap {
		v = append(v, fmt.Sprintf("%d acknowledged writes lost, more than the GTID gap of %d transactions", len(in.Lost), gtidGap))
	}
	return v
}

// Outage is the RTO window of one kind of request: from its first failure to its first success
// that started after that failure.
type Outage struct {
	Op          string
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

// Outages finds, for writes and reads separately, the first failure in attempts and the first
// success started after it. Kinds that never failed have no outage.
func Outages(attempts []Attempt) []Outage {
	var out []Outage
	for _, op := range []string{"write", "read"} {
		var o *Outage
		for _, a := range sortedByStart(attempts) {
			if a.Op != op {
				continue
			}
			if o == nil {
				if a.Failed() {
					o = &Outage{Op: op, First: a.Start}
				}
				continue
			}
			if !a.Failed() && a.Start.After(o.First) {
				o.Back, o.Recovered = a.Start.Add(a.Latency), true
				break
			}
		}
		if o != nil {
			out = append(out, *o)
		}
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
