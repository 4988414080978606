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
	case ModeAuto, ModeSwitchover, ModeFailover:
		return nil
	}
	return &InvalidInputError{Reason: fmt.Sprintf("mode %q: want auto, switchover or failover", r.Mode)}
}

// Preflight observes the global cluster, this region's cluster, the replication lag and whether the
// current writer answers, then decides. A refusal is a *RefusedError.
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

// Handle runs the preflight step.
func (s *Preflight) Handle(ctx context.Context, run Run) (Run, error) {
	start := clock(s.Now)
	if err := run.validate(s.Region); err != nil {
		return run, boundary(PhasePreflight, err)
	}
	topo, err := s.DB.Describe(ctx)
	if err != nil {
		return run, boundary(PhasePreflight, err)
	}
	local, member := topo.Member(s.LocalClusterARN)
	f := Facts{LocalMember: member, LocalWriter: local.IsWriter}
	if topo.Failover != nil {
		f.FailoverStatus = topo.Failover.Status
	}
	if member && !local.IsWriter && f.FailoverStatus == "" {
		if f.LocalStatus, err = s.DB.ClusterStatus(ctx, s.LocalClusterARN); err != nil {
			return run, boundary(PhasePreflight, err)
		}
		if f.Lag, f.LagKnown, err = s.DB.ReplicationLag(ctx, s.LocalClusterARN); err != nil {
			return run, boundary(PhasePreflight, err)
		}
		h, err := s.Prober.Health(ctx, s.PeerAPIURL)
		f.WriterReachable = err == nil && h.Status == 200 && h.Role == "writer"
		if s.Lease != nil {
			if err := s.observeLease(ctx, &f, run.Mode); err != nil {
				return run, boundary(PhasePreflight, err)
			}
		}
	}
	d := Decide(run.Mode, f, s.Policy)
	run.Decision = &d
	run.record(PhasePreflight, start, clock(s.Now))
	if d.Action == ActionRefuse {
		if f.LeaseChecked && !f.LeaseKnown && f.LocalMember && f.FailoverStatus == "" && !f.LocalWriter {
			return run, &LeaseUnavailableError{Reason: d.Reason}
		}
		return run, &RefusedError{Reason: d.Reason}
	}
	return run, nil
}

// observeLease fills the lease facts. A writer whose health does not answer may be dead or only
// cut off from here: if its lease is still running, preflight waits until it should have expired
// (plus the margin) and looks again. A lease renewed meanwhile means the writer is alive and
// reaches a majority; one left to expire means it cannot be acknowledging writes any more.
func (s *Preflight) observeLease(ctx context.Context, f *Facts, mode Mode) error {
	f.LeaseChecked = true
	l, err := s.Lease.CurrentLease(ctx)
	if err != nil {
		return nil // LeaseKnown stays false: the decision refuses with the reason
	}
	f.LeaseKnown = true
	now := clock(s.Now)
	peerHolds := l.Holder != "" && l.Holder != s.Region
	wantsDataLoss := mode == ModeFailover || (mode == ModeAuto && !f.WriterReachable)
	if peerHolds && wantsDataLoss && now.Before(l.Expires.Add(s.LeaseMargin)) {
		sleep := s.Sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		if err := sleep(ctx, l.Expires.Add(s.LeaseMargin).Sub(now)+time.Millisecond); err != nil {
			return err
		}
		again, err := s.Lease.CurrentLease(ctx)
		if err != nil {
			f.LeaseKnown = false
			return nil
		}
		now = clock(s.Now)
		f.WriterHoldsLease = again.Holder == l.Holder && again.Valid(now)
		l = again
	}
	if s.Heartbeat == nil {
		return nil
	}
	beat, err := s.Heartbeat.StandbyHeartbeat(ctx)
	if err != nil || beat.IsZero() {
		return nil // the window stays unknown, and so does the estimate: -1
	}
	// The old writer acknowledged nothing after its lease expired; the margin covers the skew
	// between its clocks and this one.
	end := now
	if l.Holder != "" && l.Holder != s.Region && l.Expires.Before(end) {
		end = l.Expires
	}
	f.LossWindow, f.LossWindowKnown = max(0, end.Sub(beat))+s.LeaseMargin, true
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

// Promote asks the global database to make this region the writer, by switchover or by failover
// with data loss as decided. It is safe to retry: a promotion already under way towards this region
// is not asked for twice.
type Promote struct {
	DB              GlobalDatabase
	Region          string
	LocalClusterARN string
	// Timeout bounds the wait for the promotion to complete.
	Timeout time.Duration
	Now     func() time.Time
	// Lease, when set, is taken before a failover with data loss: the new epoch fences the old
	// writer, whose renewals fail from then on.
	Lease LeaseTaker
}

// Handle runs the promote step.
func (s *Promote) Handle(ctx context.Context, run Run) (Run, error) {
	start := clock(s.Now)
	if err := run.validate(s.Region); err != nil {
		return run, boundary(PhasePromote, err)
	}
	if run.Decision == nil || (run.Decision.Action != ActionSwitchover && run.Decision.Action != ActionFailover) {
		return run, boundary(PhasePromote, &InvalidInputError{Reason: "promote needs a switchover or failover decision from preflight"})
	}
	topo, err := s.DB.Describe(ctx)
	if err != nil {
		return run, boundary(PhasePromote, err)
	}
	local, _ := topo.Member(s.LocalClusterARN)
	underWay := local.IsWriter || (topo.Failover != nil && topo.Failover.To == s.LocalClusterARN)
	var epoch uint64
	if !underWay && s.Lease != nil && run.Decision.Action == ActionFailover {
		l, err := s.Lease.TakeLease(ctx, s.Region)
		var unavailable *LeaseUnavailableError
		switch {
		case errors.As(err, &unavailable):
			return run, boundary(PhasePromote, err)
		case err != nil:
			return run, boundary(PhasePromote, &RefusedError{Reason: "a failover needs the writer lease and it was not granted: " + err.Error()})
		}
		epoch = l.Epoch
	}
	if !underWay {
		if run.Decision.Action == ActionSwitchover {
			err = s.DB.Switchover(ctx, s.LocalClusterARN)
		} else {
			err = s.DB.Failover(ctx, s.LocalClusterARN)
		}
		if err != nil {
			return run, boundary(PhasePromote, fmt.Errorf("%s to %s: %w", run.Decision.Action, s.LocalClusterARN, err))
		}
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
		return run, boundary(PhaseTraffic, &NotWriterError{Cluster: s.LocalClusterARN,
			Detail: fmt.Sprintf("this region does not hold a valid writer lease (holder %q, epoch %d, expires %s)",
				lease.Holder, lease.Epoch, lease.Expires.UTC().Format(time.RFC3339))})
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
