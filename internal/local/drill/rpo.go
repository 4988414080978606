package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// RPOMax: region A writes with RPO_MAX set while region B's replication stops. The heartbeat B
// has replicated, and so publishes, goes stale; within RPO_MAX and one renewal A must refuse
// writes (503, Retry-After, region-not-writer) and acknowledge none while B stays behind, then
// acknowledge again soon after replication resumes. Nothing acknowledged may be lost. It needs an
// environment started with Options.RPOMax: RPO_MAX is a deployment's setting, and the other
// scenarios run without it (Groups).
const RPOMax = "rpo-max"

// DrillRPOMax is RPO_MAX in the drill: above config's floor of 3 × LEASE_RENEW_INTERVAL, with
// room for a loaded machine's healthy heartbeat age (one renewal to stamp, one to publish).
const DrillRPOMax = 1500 * time.Millisecond

// The rpo-max scenario's bounds.
const (
	// rpoRefusalSlack is what a refusal may take beyond RPO_MAX and one renewal: the renewal's
	// own calls and a loaded machine.
	rpoRefusalSlack = 500 * time.Millisecond
	// rpoHold is how long B stays behind after its heartbeat went stale.
	rpoHold = 4 * time.Second
	// rpoRecovery bounds the time from resumed replication to A's next acknowledged write: B
	// catches up, publishes its heartbeat, and A's next renewal opens the fence.
	rpoRecovery = 3 * time.Second
)

// Group is scenarios that share one environment, and the RPO_MAX it is started with.
type Group struct {
	Names  []string
	RPOMax time.Duration
}

// Groups splits names, in order, into the environments they need: rpo-max its own with RPO_MAX
// set, every other scenario one without.
func Groups(names []string) []Group {
	var out []Group
	for _, n := range names {
		rpo := time.Duration(0)
		if n == RPOMax {
			rpo = DrillRPOMax
		}
		if len(out) == 0 || out[len(out)-1].RPOMax != rpo {
			out = append(out, Group{RPOMax: rpo})
		}
		out[len(out)-1].Names = append(out[len(out)-1].Names, n)
	}
	return out
}

// RPOOutcome is what the rpo-max scenario measured beyond the common report.
type RPOOutcome struct {
	RPOMax time.Duration
	// StaleAt is the newest heartbeat region B had when its replication stopped: from then on
	// its acknowledged heartbeat only ages.
	StaleAt time.Time
	// StaleToRefusal runs from StaleAt to A's first refusal; Refused from that refusal to A's
	// first acknowledgement after the heal; HealToWrite from the heal to that acknowledgement.
	StaleToRefusal, Refused, HealToWrite time.Duration
	// Exposed counts the writes A acknowledged after StaleAt that B did not have until the heal:
	// what a failover during the fault would have lost. ExposedSpan is how long after StaleAt
	// the last of them was acknowledged; RPO_MAX bounds it.
	Exposed     int
	ExposedSpan time.Duration
	// AckedBeyondBound counts A's acknowledgements later than StaleAt + RPO_MAX + one renewal and
	// the slack, before the heal: each breaks the bound.
	AckedBeyondBound int
}

// probeAnswer is one of the scenario's own writes to region A, with the headers the refusal must
// carry.
type probeAnswer struct {
	At         time.Time // when the answer arrived
	Status     int
	RetryAfter string
	Problem    string
	Write      Write
}

// probeWrites posts one write every 50 ms straight to region A until ctx ends.
func (e *Env) probeWrites(ctx context.Context, runID string) func() []probeAnswer {
	var mu sync.Mutex
	var answers []probeAnswer
	done := make(chan struct{})
	client := &http.Client{Timeout: time.Second}
	go func() {
		defer close(done)
		for n := 0; ctx.Err() == nil; n++ {
			w := Write{Key: fmt.Sprintf("%s-probe-n%d", runID, n)}
			w.Task = "drill " + w.Key
			body, _ := json.Marshal(map[string]string{"task": w.Task, "status": "todo"})
			a := probeAnswer{}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.A.apiURL()+"/todos", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", w.Key)
			if resp, err := client.Do(req); err == nil {
				raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				a.At, a.Status, a.RetryAfter = time.Now(), resp.StatusCode, resp.Header.Get("Retry-After")
				var doc struct {
					ID   string `json:"id"`
					Type string `json:"type"`
				}
				_ = json.Unmarshal(raw, &doc)
				a.Problem = doc.Type
				if a.Status == http.StatusCreated && doc.ID != "" {
					w.ID, w.Acked, w.Region, w.Attempts = doc.ID, a.At, resp.Header.Get("X-Switchyard-Region"), 1
				}
				a.Write = w
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() []probeAnswer {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(answers)
	}
}

// standbyHeartbeat reads the newest heartbeat r's database has.
func standbyHeartbeat(ctx context.Context, r *Region) (time.Time, error) {
	db, err := r.DB.Admin()
	if err != nil {
		return time.Time{}, err
	}
	defer db.Close()
	// Its age by the database's clock (this machine's), so that no time zone enters the reading.
	var ageMicros int64
	now := time.Now()
	err = db.QueryRowContext(ctx, "SELECT TIMESTAMPDIFF(MICROSECOND, heartbeat_at, UTC_TIMESTAMP(6)) FROM "+appDatabase+".writer_lease WHERE id = 1").Scan(&ageMicros)
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s's replicated heartbeat: %w", r.Name, err)
	}
	return now.Add(-time.Duration(ageMicros) * time.Microsecond), nil
}

func (e *Env) runRPOMax(ctx context.Context) (*ScenarioReport, error) {
	rpo := e.opts.RPOMax
	rep := &ScenarioReport{Name: RPOMax, TargetRTO: rpoHold + rpoRecovery, Start: time.Now(), RPO: &RPOOutcome{RPOMax: rpo}}
	if rpo <= 0 {
		return rep, fmt.Errorf("%s needs an environment started with Options.RPOMax (drill.Groups gives it one)", RPOMax)
	}
	out := rep.RPO
	runID := e.runID + "-" + RPOMax
	lo := e.opts.Load
	lo.URL, lo.RunID = e.A.apiURL(), runID
	load := StartLoad(ctx, lo)
	stopShow := e.showLoad(load)
	pctx, stopProbe := context.WithCancel(ctx)
	probed := e.probeWrites(pctx, runID)
	stop := func() (*Recording, []probeAnswer) {
		stopShow()
		stopProbe()
		return load.Stop(), probed()
	}
	e.progress("load: %d clients and a probe writing to %s directly, RPO_MAX %s", lo.withDefaults().Clients, e.A.Name, rpo)
	if err := sleep(ctx, steady); err != nil {
		stop()
		return rep, err
	}
	rep.Phases = append(rep.Phases, Phase{Name: "steady load", Start: rep.Start, End: time.Now()})

	faultAt := time.Now()
	if err := e.B.DB.Exec(ctx, "STOP SLAVE IO_THREAD"); err != nil {
		stop()
		return rep, err
	}
	stale, err := standbyHeartbeat(ctx, e.B)
	if err != nil {
		stop()
		return rep, err
	}
	out.StaleAt = stale
	e.progress("fault: %s's replication stopped; its heartbeat stays at %s", e.B.Name, stale.Local().Format("15:04:05.000"))
	rep.How = append(rep.How, fmt.Sprintf("%s's lease-renewer ran with RPO_MAX=%s; %s's replication stopped (STOP SLAVE IO_THREAD), so the heartbeat its renewer publishes aged", e.A.Name, rpo, e.B.Name))
	if err := sleep(ctx, time.Until(stale.Add(rpo+rpoHold))); err != nil {
		stop()
		return rep, err
	}
	healAt := time.Now()
	if err := e.B.DB.Exec(ctx, "START SLAVE IO_THREAD"); err != nil {
		stop()
		return rep, err
	}
	rep.Phases = append(rep.Phases, Phase{Name: e.B.Name + "'s replication stopped", Start: faultAt, End: healAt})
	e.progress("%s replicates again", e.B.Name)
	if err := sleep(ctx, rpoRecovery+steady); err != nil {
		stop()
		return rep, err
	}
	rec, answers := stop()
	rep.End = time.Now()
	rep.Attempts = rec.Attempts
	rep.Outcomes = CountOutcomes(rec.Attempts)
	rep.Fault = faultAt
	rep.Outages = Outages(rec.Attempts, faultAt)
	for _, o := range rep.Outages {
		rep.RTO = max(rep.RTO, o.RTO(rep.End))
	}
	acked := rec.Acked()
	for _, a := range answers {
		if !a.Write.Acked.IsZero() {
			acked = append(acked, a.Write)
		}
	}
	e.checkRPO(rep, answers, acked, healAt)

	writer, _ := e.Pair.Roles()
	if writer != e.A.DB {
		rep.failf("the writer is %s after %s, want %s: nothing may fail over", writer.Name, RPOMax, e.A.Name)
	}
	for _, rc := range e.GDB.RoleChanges() {
		if rc.Start.After(faultAt) {
			rep.failf("a %s ran during %s", rc.Kind, RPOMax)
		}
	}
	rows, err := runRows(ctx, e.A.DB, appDatabase, runID)
	if err != nil {
		return rep, err
	}
	rep.Integrity = CheckIntegrity(acked, rows)
	holdWriteInvariants(rep, false)
	// The standby caught up: every acknowledged write is on B too, so a failover now loses nothing.
	if err := e.waitReplicating(ctx, e.B, 5*time.Second); err != nil {
		rep.failf("%v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		rowsB, err := runRows(ctx, e.B.DB, appDatabase, runID)
		if err != nil {
			return rep, err
		}
		onB := CheckIntegrity(acked, rowsB)
		if len(onB.Lost) == 0 {
			break
		}
		if time.Now().After(deadline) {
			rep.failf("%d acknowledged writes still missing on %s 5 s after the scenario", len(onB.Lost), e.B.Name)
			break
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// checkRPO holds the RPO_MAX invariants over the probe's answers and every acknowledged write.
func (e *Env) checkRPO(rep *ScenarioReport, answers []probeAnswer, acked []Write, healAt time.Time) {
	out := rep.RPO
	refuseBy := out.StaleAt.Add(out.RPOMax + drillTimings.RenewInterval + drillTimings.CallTimeout + rpoRefusalSlack)
	var refusedAt, backAt time.Time
	badRefusals := 0
	for _, a := range answers {
		if a.At.Before(out.StaleAt) {
			continue
		}
		switch {
		case a.Status == http.StatusServiceUnavailable && a.At.Before(healAt):
			if refusedAt.IsZero() {
				refusedAt = a.At
			}
			if a.RetryAfter == "" || !strings.HasSuffix(a.Problem, "region-not-writer") {
				badRefusals++
			}
		case a.Status != http.StatusCreated && a.At.Before(healAt) && !a.At.Before(refuseBy):
			rep.failf("%s answered HTTP %d (problem %q) at +%s during the fault, want 503 region-not-writer", e.A.Name, a.Status, a.Problem, ms(a.At.Sub(rep.Start)))
		}
	}
	for _, w := range acked {
		if w.Acked.After(healAt) && (backAt.IsZero() || w.Acked.Before(backAt)) {
			backAt = w.Acked
		}
		if w.Acked.After(out.StaleAt) && w.Acked.Before(healAt) {
			out.Exposed++
			out.ExposedSpan = max(out.ExposedSpan, w.Acked.Sub(out.StaleAt))
			if w.Acked.After(refuseBy) {
				out.AckedBeyondBound++
			}
		}
	}
	bound := refuseBy.Sub(out.StaleAt)
	switch {
	case refusedAt.IsZero():
		rep.failf("%s never refused a write while %s's heartbeat was stale", e.A.Name, e.B.Name)
	default:
		out.StaleToRefusal = refusedAt.Sub(out.StaleAt)
		if refusedAt.After(refuseBy) {
			rep.failf("%s first refused a write %s after %s's heartbeat went stale, over the %s bound (RPO_MAX, one renewal and its calls, %s slack)",
				e.A.Name, ms(out.StaleToRefusal), e.B.Name, ms(bound), ms(rpoRefusalSlack))
		}
	}
	if badRefusals > 0 {
		rep.failf("%d refusals lacked Retry-After or the region-not-writer problem type", badRefusals)
	}
	if out.AckedBeyondBound > 0 {
		rep.failf("%s acknowledged %d writes more than %s after %s's heartbeat went stale (RPO_MAX %s)", e.A.Name, out.AckedBeyondBound, ms(bound), e.B.Name, out.RPOMax)
	}
	if backAt.IsZero() {
		rep.failf("%s acknowledged no write after %s replicated again", e.A.Name, e.B.Name)
	} else {
		out.HealToWrite = backAt.Sub(healAt)
		if !refusedAt.IsZero() {
			out.Refused = backAt.Sub(refusedAt)
		}
		if out.HealToWrite > rpoRecovery {
			rep.failf("%s acknowledged its first write %s after replication resumed, over the %s bound", e.A.Name, ms(out.HealToWrite), ms(rpoRecovery))
		}
	}
	if !refusedAt.IsZero() {
		end := backAt
		if end.Before(refusedAt) {
			end = healAt
		}
		rep.Phases = append(rep.Phases, Phase{Name: e.A.Name + " refuses writes (RPO_MAX exceeded)", Start: refusedAt, End: end})
	}
	rep.How = append(rep.How, fmt.Sprintf("%s refused writes %s after %s's heartbeat went stale (bound %s) and for %s in all; it acknowledged %d writes %s could not have (the last %s after the heartbeat, RPO_MAX %s), none beyond the bound; the first write %s after replication resumed (bound %s)",
		e.A.Name, ms(out.StaleToRefusal), e.B.Name, ms(bound), ms(out.Refused), out.Exposed, e.B.Name, ms(out.ExposedSpan), out.RPOMax, ms(out.HealToWrite), ms(rpoRecovery)))
}
