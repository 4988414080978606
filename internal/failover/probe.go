package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// PeerProbe is the detector. Once a minute it probes the peer region's /health, and the public
// endpoint's, Samples times Interval apart (Samples × Interval plus two timeouts must fit in the
// function's timeout and under a minute), each under Timeout, and publishes every sample (healthy
// 1/0 and latency) in this region's CloudWatch. It notifies nothing itself: an alarm on the metric
// does, and because each invocation publishes several samples and the alarm needs N of M
// datapoints, one slow answer or a short flap does not fire it.
//
// A peer sample is healthy when /health answers 200 within Timeout and, unless this region is the
// writer, the peer says it is the writer: a peer that answers but no longer writes cannot serve
// writes, which is what this region would take over.
type PeerProbe struct {
	Prober Prober
	// Region is this region: the public endpoint's serving region is compared with it.
	Region      string
	Metrics     Metrics
	PeerAPIURL  string
	PublicURL   string
	LocalAPIURL string
	Samples     int
	Interval    time.Duration
	Timeout     time.Duration
	Now         func() time.Time
	// Sleep waits between samples; nil waits on a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// ProbeReport is what one invocation saw and published.
type ProbeReport struct {
	// ExpectPeerWriter says the last sample was taken while this region did not write.
	ExpectPeerWriter bool     `json:"expectPeerWriter"`
	Peer             []Sample `json:"peer"`
	Public           []Sample `json:"public"`
	// Consistency holds the watchdog's samples, taken only while this region writes: healthy when
	// the public endpoint is served by this region and the peer does not also accept writes. An
	// alarm on them starts a reconcile run here, which moves traffic back to this region.
	Consistency     []Sample `json:"consistency,omitempty"`
	Inconsistencies []string `json:"inconsistencies,omitempty"`
}

// Handle probes and publishes; the scheduled event's content is not used.
func (p *PeerProbe) Handle(ctx context.Context, _ json.RawMessage) (ProbeReport, error) {
	var rep ProbeReport
	// Samples keep to a fixed grid from the first, so slow answers do not stretch the invocation
	// past the one-minute schedule.
	first := clock(p.Now)
	for i := range p.Samples {
		if wait := first.Add(time.Duration(i) * p.Interval).Sub(clock(p.Now)); i > 0 && wait > 0 {
			if err := p.sleep(ctx, wait); err != nil {
				break
			}
		}
		// Whether this region writes is read with each sample: a switchover during the batch
		// changes which region should be the writer, and judging earlier samples by the role at
		// the end would count the peer's correct "not the writer" as failures and raise the alarm
		// of the region that has just been promoted.
		local, err := p.probe(ctx, p.LocalAPIURL)
		localWrites := err == nil && local.Status == 200 && local.Role == "writer"
		rep.ExpectPeerWriter = !localWrites
		at := clock(p.Now)
		peer, err := p.probe(ctx, p.PeerAPIURL)
		peerOK := err == nil && peer.Status == 200
		rep.Peer = append(rep.Peer, Sample{At: at, Latency: peer.Latency, Healthy: peerOK && (peer.Role == "writer" || localWrites)})
		at = clock(p.Now)
		public, err := p.probe(ctx, p.PublicURL)
		publicOK := err == nil && public.Status == 200
		rep.Public = append(rep.Public, Sample{At: at, Latency: public.Latency, Healthy: publicOK})
		if localWrites {
			// A public endpoint that does not answer says nothing about where it points: the public
			// health metric covers it, and only a served answer counts as evidence here.
			view := PairView{LocalWrites: true, PeerWrites: peerOK && peer.Role == "writer",
				TrafficKnown: publicOK && public.Region != "", TrafficOnLocal: public.Region == p.Region}
			found := view.Inconsistencies()
			rep.Consistency = append(rep.Consistency, Sample{At: at, Latency: public.Latency, Healthy: len(found) == 0})
			for _, f := range found {
				if !slices.Contains(rep.Inconsistencies, f) {
					rep.Inconsistencies = append(rep.Inconsistencies, f)
				}
			}
		}
	}
	if err := p.Metrics.PublishProbes(ctx, rep.Peer, rep.Public, rep.Consistency); err != nil {
		return rep, fmt.Errorf("publish %d peer, %d public and %d consistency samples: %w", len(rep.Peer), len(rep.Public), len(rep.Consistency), err)
	}
	return rep, nil
}

// LogAttrs are the report's counts on the invocation's log line (see Logged).
func (r ProbeReport) LogAttrs() []any {
	healthy := func(samples []Sample) int {
		n := 0
		for _, s := range samples {
			if s.Healthy {
				n++
			}
		}
		return n
	}
	return []any{"samples", len(r.Peer), "peerHealthy", healthy(r.Peer), "publicHealthy", healthy(r.Public), "expectPeerWriter", r.ExpectPeerWriter,
		"inconsistencies", r.Inconsistencies}
}

// probe asks baseURL's /health under the timeout; a timeout reports the time waited as the latency.
func (p *PeerProbe) probe(ctx context.Context, baseURL string) (Health, error) {
	start := clock(p.Now)
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	h, err := p.Prober.Health(ctx, baseURL)
	if err != nil {
		h.Latency = clock(p.Now).Sub(start)
	}
	return h, err
}

func (p *PeerProbe) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PairView is what the watchdog (or an operator) sees of the two regions and the public endpoint.
type PairView struct {
	// LocalWrites and PeerWrites say whether each region accepts writes.
	LocalWrites bool
	PeerWrites  bool
	// TrafficKnown says the public endpoint was observed; TrafficOnLocal that it is served by (or
	// points at) this region.
	TrafficKnown   bool
	TrafficOnLocal bool
}

// Inconsistencies says in plain words what breaks "exactly one region writes and all traffic goes
// to it", as seen from this region; nil when nothing does. Each state has a repair: a reconcile run
// in the region that writes, which never promotes.
func (v PairView) Inconsistencies() []string {
	var out []string
	if v.LocalWrites && v.PeerWrites {
		out = append(out, "two regions accept writes: this region and its peer; check the global cluster's writer and fence the other region")
	}
	if v.TrafficKnown && v.LocalWrites && !v.TrafficOnLocal {
		out = append(out, "this region writes but receives no traffic: the public endpoint goes to the other region, where writes fail; "+
			"a reconcile run here moves it (switchyard reconcile)")
	}
	if v.TrafficKnown && !v.LocalWrites && v.TrafficOnLocal {
		out = append(out, "traffic goes to this region, which does not write: writes fail; run switchyard reconcile in the region that writes")
	}
	return out
}
