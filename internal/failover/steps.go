package failover

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The steps of statemachine/failover.asl.json. Each is a handler func(ctx, Run) (Run, error) for one
// Lambda function, holding only the ports that function's role allows.

func clock(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}

func (r Run) validate(region string) error {
	if r.Region != region {
		return &InvalidInputError{Reason: fmt.Sprintf("run is for region %q but this is %q's state machine: "+
			"each region's machine only activates its own region", r.Region, region)}
	}
	switch r.Mode {
	case ModeAuto, ModeSwitchover, ModeFailover, ModeReconcile:
		return nil
	}
	return &InvalidInputError{Reason: fmt.Sprintf("mode %q: want auto, switchover, failover or reconcile", r.Mode)}
}

// observer gathers the facts a decision is made on, fresh from the global database, the lag metric
// and the current writer's /health. Preflight decides on them, and Promote decides again on its own
// reading rather than trusting the decision it was handed.
type observer struct {
	DB              GlobalDatabase
	Prober          Prober
	Region          string
	LocalClusterARN string
	PeerAPIURL      string
	// The writer lease, when set: see Preflight.
	Lease       LeaseReader
	LeaseMargin time.Duration
	Heartbeat   StandbyHeartbeat
	Sleep       func(ctx context.Context, d time.Duration) error
	Now         func() time.Time
}

func (o observer) observe(ctx context.Context, mode Mode) (Facts, error) {
	topo, err := o.DB.Describe(ctx)
	if err != nil {
		return Facts{}, err
	}
	local, member := topo.Member(o.LocalClusterARN)
	f := Facts{LocalMember: member, LocalWriter: local.IsWriter}
	if topo.Failover != nil {
		f.FailoverStatus = topo.Failover.Status
		f.FailoverToLocal = topo.Failover.To == o.LocalClusterARN
		f.FailoverDataLossAllowed = topo.Failover.DataLossAllowed
	}
	if member && !local.IsWriter && f.FailoverStatus == "" {
		if f.LocalStatus, err = o.DB.ClusterStatus(ctx, o.LocalClusterARN); err != nil {
			return Facts{}, err
		}
		if f.Lag, f.LagKnown, err = o.DB.ReplicationLag(ctx, o.LocalClusterARN); err != nil {
			return Facts{}, err
		}
		h, err := o.Prober.Health(ctx, o.PeerAPIURL)
		f.WriterReachable = err == nil && h.Status == 200 && h.Role == "writer"
		if o.Lease != nil {
			if err := o.observeLease(ctx, &f, mode); err != nil {
				return Facts{}, err
			}
		}
	}
	return f, nil
}

// observeLease fills the lease facts. A writer whose health does not answer may be dead or only
// cut off from here: if its lease is still running, the step waits until it should have expired
// (plus the margin) and looks again. A lease renewed meanwhile means the writer is alive and
// reaches a majority; one left to expire means it cannot be acknowledging writes any more.
func (o observer) observeLease(ctx context.Context, f *Facts, mode Mode) error {
	f.LeaseChecked = true
	l, err := o.Lease.CurrentLease(ctx)
	if err != nil {
		return nil // LeaseKnown stays false: the decision refuses with the reason
	}
	f.LeaseKnown, f.Lease = true, l
	now := clock(o.Now)
	peerHolds := l.Holder != "" && l.Holder != o.Region
	wantsDataLoss := mode == ModeFailover || (mode == ModeAuto && !f.WriterReachable)
	if peerHolds && wantsDataLoss && now.Before(l.Expires.Add(o.LeaseMargin)) {
		sleep := o.Sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		if err := sleep(ctx, l.Expires.Add(o.LeaseMargin).Sub(now)+time.Millisecond); err != nil {
			return err
		}
		again, err := o.Lease.CurrentLease(ctx)
		if err != nil {
			f.LeaseKnown = false
			return nil
		}
		now = clock(o.Now)
		f.WriterHoldsLease = again.Holder == l.Holder && again.Valid(now)
		l, f.Lease = again, again
	}
	if o.Heartbeat == nil {
		return nil
	}
	beat, err := o.Heartbeat.StandbyHeartbeat(ctx)
	if err != nil || beat.IsZero() {
		return nil // the window stays unknown: under MAX_LAG the decision refuses
	}
	// The old writer acknowledged nothing after its lease expired; the margin covers the skew
	// between its clocks and this one.
	end := now
	if l.Holder != "" && l.Holder != o.Region && l.Expires.Before(end) {
		end = l.Expires
	}
	f.LossWindow, f.LossWindowKnown = max(0, end.Sub(beat))+o.LeaseMargin, true
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Preflight observes the global cluster, this region's cluster, the replication lag and whether the
// current writer answers, then decides. A refusal is a *RefusedError. "This region already writes"
// is not the end of the run: the state machine still makes traffic follow this region and verifies.
type Preflight struct {
	DB              GlobalDatabase
	Prober          Prober
	Region          string
	LocalClusterARN string
	// PeerAPIURL is the other region's API base URL; its /health says whether the writer answers.
	PeerAPIURL string
	Policy     Policy
	Now        func() time.Time
	// Lease, when set, is the writer lease: a failover with data loss needs its holder to have
	// stopped renewing. LeaseMargin is its clock-skew margin.
	Lease       LeaseReader
	LeaseMargin time.Duration
	// Heartbeat, when set, gives the data-loss window that MAX_LAG bounds and the notification
	// reports, in place of the lag metric.
	Heartbeat StandbyHeartbeat
	// Sleep waits for d unless ctx ends first; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (s *Preflight) observer() observer {
	return observer{DB: s.DB, Prober: s.Prober, Region: s.Region, LocalClusterARN: s.LocalClusterARN, PeerAPIURL: s.PeerAPIURL,
		Lease: s.Lease, LeaseMargin: s.LeaseMargin, Heartbeat: s.Heartbeat, Sleep: s.Sleep, Now: s.Now}
}

// Handle runs the preflight step.
func (s *Preflight) Handle(ctx context.Context, run Run) (Run, error) {
	start := clock(s.Now)
	if err := run.validate(s.Region); err != nil {
		return run, boundary(PhasePreflight, err)
	}
	f, err := s.observer().observe(ctx, run.Mode)
	if err != nil {
		return run, boundary(PhasePreflight, err)
	}
	if why := superseded(run, f, s.Region); why != "" {
		return run, &SupersededError{Reason: why}
	}
	d := Decide(run.Mode, f, s.Policy)
	run.Decision = &d
	run.record(PhasePreflight, start, clock(s.Now))
	if d.Action == ActionRefuse {
		if noLeaseMajority(f) {
			return run, &LeaseUnavailableError{Reason: d.Reason}
		}
		return run, &RefusedError{Reason: d.Reason}
	}
	return run, nil
}

// superseded says why a re-driven run must not act, or "" when it may: the writer lease passed to
// another region after the incident began, so a newer activation (an operator's switchover back,
// a failover the other way) has overtaken it. A re-drive repairs what its incident left half done;
// it never undoes what came after. A first run acts on the facts as they are.
func superseded(run Run, f Facts, region string) string {
	l := f.Lease
	if run.Attempt == 0 || !f.LeaseKnown || l.Holder == "" || l.Holder == region || l.Since.IsZero() || !l.Since.After(run.DetectedAt) {
		return ""
	}
	return fmt.Sprintf("the writer lease passed to %s (epoch %d) at %s, after incident %s began at %s; this re-drive (attempt %d) does not undo a newer activation",
		l.Holder, l.Epoch, l.Since.UTC().Format(time.RFC3339Nano), run.Incident, run.DetectedAt.UTC().Format(time.RFC3339Nano), run.Attempt)
}

// noLeaseMajority reports whether a refusal came from no majority of the lease's grantors answering,
// which a retry may cure, rather than from the facts.
func noLeaseMajority(f Facts) bool {
	return f.LeaseChecked && !f.LeaseKnown && f.LocalMember && f.FailoverStatus == "" && !f.LocalWriter
}

// Promote asks the global database to make this region the writer. It does not act on the decision
// in its input, which anyone allowed to invoke the function could write: it observes the facts again
// and decides again under its own policy, so a forged {"decision":{"action":"failover"}} under
// ALLOW_DATA_LOSS=false is refused exactly as preflight would refuse it. It is safe to repeat: a
// promotion already under way towards this region, or already done, is not asked for again.
type Promote struct {
	DB              GlobalDatabase
	Prober          Prober
	Region          string
	LocalClusterARN string
	PeerAPIURL      string
	Policy          Policy
	// Timeout bounds the wait for the promotion to complete.
	Timeout time.Duration
	Now     func() time.Time
	// The writer lease, when set, as Preflight reads it; Taker takes it before a failover with
	// data loss: the new epoch fences the old writer, whose renewals fail from then on.
	Lease       LeaseReader
	Taker       LeaseTaker
	LeaseMargin time.Duration
	Heartbeat   StandbyHeartbeat
	Sleep       func(ctx context.Context, d time.Duration) error
}

// Handle runs the promote step.
func (s *Promote) Handle(ctx context.Context, run Run) (Run, error) {
	start := clock(s.Now)
	if err := run.validate(s.Region); err != nil {
		return run, boundary(PhasePromote, err)
	}
	if run.Decision == nil {
		return run, boundary(PhasePromote, &InvalidInputError{Reason: "promote needs the decision from preflight"})
	}
	f, err := observer{DB: s.DB, Prober: s.Prober, Region: s.Region, LocalClusterARN: s.LocalClusterARN, PeerAPIURL: s.PeerAPIURL,
		Lease: s.Lease, LeaseMargin: s.LeaseMargin, Heartbeat: s.Heartbeat, Sleep: s.Sleep, Now: s.Now}.observe(ctx, run.Mode)
	if err != nil {
		return run, boundary(PhasePromote, err)
	}
	d := Decide(run.Mode, f, s.Policy)
	var epoch uint64
	switch d.Action {
	case ActionRefuse:
		if noLeaseMajority(f) {
			return run, boundary(PhasePromote, &LeaseUnavailableError{Reason: d.Reason})
		}
		return run, boundary(PhasePromote, &RefusedError{Reason: "on promote's own reading of the facts: " + d.Reason})
	case ActionSwitchover:
		err = s.DB.Switchover(ctx, s.LocalClusterARN)
	case ActionFailover:
		if s.Taker != nil {
			l, err := s.Taker.TakeLease(ctx, s.Region)
			var unavailable *LeaseUnavailableError
			switch {
			case errors.As(err, &unavailable):
				return run, boundary(PhasePromote, err)
			case err != nil:
				return run, boundary(PhasePromote, &RefusedError{Reason: "a failover needs the writer lease and it was not granted: " + err.Error()})
			}
			epoch = l.Epoch
		}
		err = s.DB.Failover(ctx, s.LocalClusterARN)
	}
	if err != nil {
		return run, boundary(PhasePromote, fmt.Errorf("%s to %s: %w", d.Action, s.LocalClusterARN, err))
	}
	// The report shows what was done, which is this step's decision, not the one it was handed.
	if d.Action != run.Decision.Action {
		run.Decision = &d
	}
	now := clock(s.Now)
	run.Promotion = &Promotion{Target: s.LocalClusterARN, Deadline: now.Add(s.Timeout).UTC(), LeaseEpoch: epoch}
	run.record(PhasePromote, start, now)
	return run, nil
}

// AwaitPromotion polls the global cluster once: done when no FailoverState remains and this region
// is the writer. Past the promotion's deadline it gives *PromotionTimeoutError.
type AwaitPromotion struct {
	DB              GlobalDatabase
	Region          string
	LocalClusterARN string
	Now             func() time.Time
}

// Handle runs one poll.
func (s *AwaitPromotion) Handle(ctx context.Context, run Run) (Run, error) {
	start := clock(s.Now)
	if err := run.validate(s.Region); err != nil {
		return run, boundary(PhaseAwait, err)
	}
	if run.Promotion == nil {
		return run, boundary(PhaseAwait, &InvalidInputError{Reason: "await needs the promotion record from promote"})
	}
	topo, err := s.DB.Describe(ctx)
	if err != nil {
		return run, boundary(PhaseAwait, err)
	}
	now := clock(s.Now)
	local, _ := topo.Member(s.LocalClusterARN)
	p := *run.Promotion
	p.Polls++
	p.Done = topo.Failover == nil && local.IsWriter
	switch {
	case topo.Failover != nil:
		p.LastSeen = "FailoverState " + topo.Failover.Status
	case local.IsWriter:
		p.LastSeen = "this region writes"
	default:
		p.LastSeen = "no FailoverState and the writer is " + topo.Writer()
	}
	run.Promotion = &p
	run.record(PhaseAwait, start, now)
	if !p.Done && !now.Before(p.Deadline) {
		waited := time.Duration(0)
		for _, ph := range run.Phases {
			if ph.Name == PhaseAwait {
				waited = time.Duration(ph.DurationMs) * time.Millisecond
			}
		}
		return run, &PromotionTimeoutError{Target: p.Target, Waited: waited, Last: p.LastSeen + " after " + strconv.Itoa(p.Polls) + " polls"}
	}
	return run, nil
}

// SwapTraffic points the public endpoint at this region, after checking again that this region's
// database is the writer and that this region holds a valid writer lease: traffic never goes to a
// region that does not write. The change carries the lease's epoch as its fencing token, so a
// delayed or racing activation with an older lease is refused by the traffic switch itself
// (*StaleEpochError) instead of pointing traffic back at an old writer.
type SwapTraffic struct {
	DB      GlobalDatabase
	Traffic TrafficSwitch
	Lease   LeaseReader
	Region  string
	// LocalClusterARN is this region's Aurora cluster.
	LocalClusterARN string
	// LocalTarget is this region's origin ID or record value.
	LocalTarget string
	Now         func() time.Time
}

// Handle runs the traffic step.
func (s *SwapTraffic) Handle(ctx context.Context, run Run) (Run, error) {
	start := clock(s.Now)
	if err := run.validate(s.Region); err != nil {
		return run, boundary(PhaseTraffic, err)
	}
	topo, err := s.DB.Describe(ctx)
	if err != nil {
		return run, boundary(PhaseTraffic, err)
	}
	local, _ := topo.Member(s.LocalClusterARN)
	switch {
	case topo.Failover != nil:
		return run, boundary(PhaseTraffic, &NotWriterError{Cluster: s.LocalClusterARN, Detail: "FailoverState " + topo.Failover.Status + " still present"})
	case !local.IsWriter:
		return run, boundary(PhaseTraffic, &NotWriterError{Cluster: s.LocalClusterARN, Detail: "the writer is " + topo.Writer()})
	}
	lease, err := s.Lease.CurrentLease(ctx)
	if err != nil {
		return run, boundary(PhaseTraffic, fmt.Errorf("read the writer lease: %w", err))
	}
	if lease.Holder != s.Region || !lease.Valid(clock(s.Now)) {
		return run, boundary(PhaseTraffic, &LeaseNotHeldError{Region: s.Region, Lease: lease})
	}
	current, err := s.Traffic.Current(ctx)
	if err != nil {
		return run, boundary(PhaseTraffic, err)
	}
	if !current.Supersedes(s.LocalTarget, lease.Epoch) {
		return run, boundary(PhaseTraffic, &StaleEpochError{Target: s.LocalTarget, Epoch: lease.Epoch, Current: current})
	}
	change := &TrafficChange{From: current.Target, FromEpoch: current.Epoch, To: s.LocalTarget, Epoch: lease.Epoch}
	if current != (TrafficState{Target: s.LocalTarget, Epoch: lease.Epoch}) {
		if err := s.Traffic.SwitchTo(ctx, s.LocalTarget, lease.Epoch); err != nil {
			return run, boundary(PhaseTraffic, fmt.Errorf("switch traffic from %s (epoch %d) to %s (epoch %d): %w",
				current.Target, current.Epoch, s.LocalTarget, lease.Epoch, err))
		}
		change.Changed = true
	}
	run.Traffic = change
	run.record(PhaseTraffic, start, clock(s.Now))
	return run, nil
}

// Verify writes, reads back and deletes a canary item through this region's API and through the
// public endpoint, asserting that both are served by this region. A public endpoint still served by
// another region is *TrafficNotShiftedError (the state machine retries it up to a deadline and
// reports it apart from failure); anything else is *VerificationError.
type Verify struct {
	Prober      Prober
	Region      string
	LocalAPIURL string
	PublicURL   string
	Now         func() time.Time
}

// Handle runs one verification attempt.
func (s *Verify) Handle(ctx context.Context, run Run) (Run, error) {
	start := clock(s.Now)
	if err := run.validate(s.Region); err != nil {
		return run, boundary(PhaseVerify, err)
	}
	key := run.Incident + "-canary-" + strconv.FormatInt(start.UnixNano(), 36)
	local, err := s.Prober.Canary(ctx, s.LocalAPIURL, key+"-local")
	switch {
	case err != nil:
		return run, &VerificationError{Endpoint: s.LocalAPIURL, Detail: err.Error()}
	case local.WriteRegion != s.Region:
		return run, &VerificationError{Endpoint: s.LocalAPIURL, Detail: fmt.Sprintf("served by region %q, want %q", local.WriteRegion, s.Region)}
	case local.WriteStatus != 201 || !local.ReadBack:
		return run, &VerificationError{Endpoint: s.LocalAPIURL, Detail: canaryDetail(local)}
	}
	public, err := s.Prober.Canary(ctx, s.PublicURL, key+"-public")
	switch {
	case err != nil:
		return run, &VerificationError{Endpoint: s.PublicURL, Detail: err.Error()}
	case public.WriteRegion != "" && public.WriteRegion != s.Region:
		return run, &TrafficNotShiftedError{Endpoint: s.PublicURL, Want: s.Region, Got: public.WriteRegion}
	case public.NotWriter:
		return run, &TrafficNotShiftedError{Endpoint: s.PublicURL, Want: s.Region, Got: "a region that does not write"}
	case public.WriteStatus != 201 || !public.ReadBack:
		return run, &VerificationError{Endpoint: s.PublicURL, Detail: canaryDetail(public)}
	}
	run.Verification = &Verification{LocalRegion: local.WriteRegion, PublicRegion: public.WriteRegion}
	run.record(PhaseVerify, start, clock(s.Now))
	return run, nil
}

func canaryDetail(c Canary) string {
	if c.Detail != "" {
		return fmt.Sprintf("canary write status %d, read back %t: %s", c.WriteStatus, c.ReadBack, c.Detail)
	}
	return fmt.Sprintf("canary write status %d, read back %t", c.WriteStatus, c.ReadBack)
}
