package failover

import (
	"context"
	"encoding/json"
	"fmt"
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
	Prober      Prober
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
	ExpectPeerWriter bool     `json:"expectPeerWriter"`
	Peer             []Sample `json:"peer"`
	Public           []Sample `json:"public"`
}

// Handle probes and publishes; the scheduled event's content is not used.
func (p *PeerProbe) Handle(ctx context.Context, _ json.RawMessage) (ProbeReport, error) {
	rep := ProbeReport{ExpectPeerWriter: true}
	if local, err := p.probe(ctx, p.LocalAPIURL); err == nil && local.Status == 200 && local.Role == "writer" {
		rep.ExpectPeerWriter = false
	}
	// Samples keep to a fixed grid from the first, so slow answers do not stretch the invocation
	// past the one-minute schedule.
	first := clock(p.Now)
	for i := range p.Samples {
		if wait := first.Add(time.Duration(i) * p.Interval).Sub(clock(p.Now)); i > 0 && wait > 0 {
			if err := p.sleep(ctx, wait); err != nil {
				break
			}
		}
		at := clock(p.Now)
		h, err := p.probe(ctx, p.PeerAPIURL)
		rep.Peer = append(rep.Peer, Sample{At: at, Latency: h.Latency,
			Healthy: err == nil && h.Status == 200 && (h.Role == "writer" || !rep.ExpectPeerWriter)})
		at = clock(p.Now)
		h, err = p.probe(ctx, p.PublicURL)
		rep.Public = append(rep.Public, Sample{At: at, Latency: h.Latency, Healthy: err == nil && h.Status == 200})
	}
	if err := p.Metrics.PublishProbes(ctx, rep.Peer, rep.Public); err != nil {
		return rep, fmt.Errorf("publish %d peer and %d public samples: %w", len(rep.Peer), len(rep.Public), err)
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
	return []any{"samples", len(r.Peer), "peerHealthy", healthy(r.Peer), "publicHealthy", healthy(r.Public), "expectPeerWriter", r.ExpectPeerWriter}
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
