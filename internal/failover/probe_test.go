package failover_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// fakeMetrics records what the probe published.
type fakeMetrics struct {
	peer, public, consistency []failover.Sample
	err                       error
}

func (f *fakeMetrics) PublishProbes(_ context.Context, peer, public, consistency []failover.Sample) error {
	f.peer, f.public, f.consistency = peer, public, consistency
	return f.err
}

// scriptedProber answers /health from a list per URL, one answer per call; the last repeats.
type scriptedProber struct {
	mu      sync.Mutex
	answers map[string][]func() (failover.Health, error)
}

func (p *scriptedProber) Health(_ context.Context, url string) (failover.Health, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.answers[url]
	if len(list) == 0 {
		return failover.Health{}, errors.New("connection refused")
	}
	next := list[0]
	if len(list) > 1 {
		p.answers[url] = list[1:]
	}
	return next()
}

func (p *scriptedProber) Canary(context.Context, string, string) (failover.Canary, error) {
	return failover.Canary{}, errors.New("not used by the probe")
}

// manualClock moves only when told: probes take time by advancing it.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func answer(clk *manualClock, took time.Duration, h failover.Health, err error) func() (failover.Health, error) {
	return func() (failover.Health, error) {
		clk.advance(took)
		if err == nil {
			h.Latency = took
		}
		return h, err
	}
}

func TestPeerProbe(t *testing.T) {
	writer := failover.Health{Status: 200, Role: "writer"}
	reader := failover.Health{Status: 200, Role: "reader"}
	down := failover.Health{Status: 503, Role: "writer"}
	timeout := errors.New("context deadline exceeded")
	tests := []struct {
		name             string
		local            failover.Health
		peer             []failover.Health
		peerErr          error
		expectPeerWriter bool
		wantPeer         string
	}{
		{"standby: the peer must write", reader, []failover.Health{writer, reader, down}, nil, true, "1 0 0"},
		{"writer: the peer only has to answer", writer, []failover.Health{writer, reader, down}, nil, false, "1 1 0"},
		{"peer does not answer", reader, nil, timeout, true, "0 0 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &manualClock{now: time.Date(2026, 11, 21, 5, 40, 0, 0, time.UTC)}
			p := &scriptedProber{answers: map[string][]func() (failover.Health, error){
				localAPI:  {answer(clk, 5*time.Millisecond, tt.local, nil)},
				publicURL: {answer(clk, 7*time.Millisecond, writer, nil), answer(clk, 7*time.Millisecond, down, nil), answer(clk, 7*time.Millisecond, failover.Health{}, timeout)},
			}}
			for _, h := range tt.peer {
				p.answers[peerAPI] = append(p.answers[peerAPI], answer(clk, 20*time.Millisecond, h, nil))
			}
			if tt.peerErr != nil {
				p.answers[peerAPI] = []func() (failover.Health, error){answer(clk, 2*time.Second, failover.Health{}, tt.peerErr)}
			}
			var slept []time.Duration
			m := &fakeMetrics{}
			var logs bytes.Buffer
			probe := &failover.PeerProbe{Prober: p, Metrics: m, PeerAPIURL: peerAPI, PublicURL: publicURL, LocalAPIURL: localAPI,
				Samples: 3, Interval: 10 * time.Second, Timeout: 2 * time.Second, Now: clk.Now,
				Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); clk.advance(d); return nil }}
			handle := failover.Logged(slog.New(slog.NewJSONHandler(&logs, nil)), "probe", probe.Handle)
			rep, err := handle(context.Background(), json.RawMessage(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			if rep.ExpectPeerWriter != tt.expectPeerWriter {
				t.Errorf("expect peer writer: got %t, want %t", rep.ExpectPeerWriter, tt.expectPeerWriter)
			}
			if got := healthyBits(m.peer); got != tt.wantPeer {
				t.Errorf("peer samples healthy: got %s, want %s", got, tt.wantPeer)
			}
			if got := healthyBits(m.public); got != "1 0 0" {
				t.Errorf("public samples healthy: got %s, want 1 0 0 (200, 503, no answer)", got)
			}
			if len(rep.Peer) != 3 || len(m.peer) != 3 {
				t.Fatalf("samples: got %d reported and %d published, want 3", len(rep.Peer), len(m.peer))
			}
			// The samples keep to a 10 s grid from the first, whatever the answers took.
			first := m.peer[0].At
			for i, s := range m.peer {
				if want := first.Add(time.Duration(i) * 10 * time.Second); !s.At.Equal(want) {
					t.Errorf("peer sample %d at %s, want %s", i, s.At, want)
				}
			}
			if len(slept) != 2 || slept[0] >= 10*time.Second {
				t.Errorf("waits: got %v, want two, each shorter than the interval by the time the probes took", slept)
			}
			if tt.peerErr != nil && m.peer[0].Latency != 2*time.Second {
				t.Errorf("latency of a timed-out probe: got %v, want the 2s waited", m.peer[0].Latency)
			}
			healthy := strings.Count(tt.wantPeer, "1")
			for _, want := range []string{`"step":"probe"`, `"outcome":"ok"`, `"durationMs":`, `"samples":3`, fmt.Sprintf(`"peerHealthy":%d`, healthy), `"publicHealthy":1`} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("log lacks %s: %s", want, logs.String())
				}
			}
		})
	}
}

func healthyBits(samples []failover.Sample) string {
	var b []string
	for _, s := range samples {
		if s.Healthy {
			b = append(b, "1")
		} else {
			b = append(b, "0")
		}
	}
	return strings.Join(b, " ")
}

func TestPeerProbeStopsWithItsContextAndStillPublishes(t *testing.T) {
	clk := &manualClock{now: time.Date(2026, 11, 21, 5, 40, 0, 0, time.UTC)}
	p := &scriptedProber{answers: map[string][]func() (failover.Health, error){}}
	m := &fakeMetrics{}
	probe := &failover.PeerProbe{Prober: p, Metrics: m, PeerAPIURL: peerAPI, PublicURL: publicURL, LocalAPIURL: localAPI,
		Samples: 5, Interval: 10 * time.Second, Timeout: time.Second, Now: clk.Now,
		Sleep: func(context.Context, time.Duration) error { return context.DeadlineExceeded }}
	rep, err := probe.Handle(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Peer) != 1 || len(m.peer) != 1 || len(m.public) != 1 {
		t.Errorf("got %d samples reported, %d/%d published; want the one taken before the wait was cut", len(rep.Peer), len(m.peer), len(m.public))
	}
}

func TestPeerProbePublishFailure(t *testing.T) {
	m := &fakeMetrics{err: throttled}
	probe := &failover.PeerProbe{Prober: &scriptedProber{answers: map[string][]func() (failover.Health, error){}}, Metrics: m,
		PeerAPIURL: peerAPI, PublicURL: publicURL, LocalAPIURL: localAPI, Samples: 2, Interval: time.Millisecond, Timeout: time.Second}
	_, err := probe.Handle(context.Background(), nil)
	if err == nil || !errors.Is(err, throttled) || !strings.Contains(err.Error(), "publish 2 peer, 2 public and 0 consistency samples") {
		t.Errorf("got %v, want the publish failure with the sample counts", err)
	}
}

func TestPeerProbeDefaultSleepHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	probe := &failover.PeerProbe{Prober: &scriptedProber{answers: map[string][]func() (failover.Health, error){}}, Metrics: &fakeMetrics{},
		PeerAPIURL: peerAPI, PublicURL: publicURL, LocalAPIURL: localAPI, Samples: 3, Interval: time.Hour, Timeout: time.Second}
	done := make(chan failover.ProbeReport, 1)
	go func() { rep, _ := probe.Handle(ctx, nil); done <- rep }()
	select {
	case rep := <-done:
		if len(rep.Peer) != 1 {
			t.Errorf("samples: got %d, want 1 before the cancelled wait", len(rep.Peer))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the probe waited out its interval after its context was cancelled")
	}
	// An interval already past is not waited for at all.
	probe.Interval = time.Nanosecond
	probe.Samples = 2
	rep, err := probe.Handle(context.Background(), nil)
	if err != nil || len(rep.Peer) != 2 {
		t.Errorf("got %d samples, %v; want 2", len(rep.Peer), err)
	}
}

// TestPeerProbeDoesNotWaitWhenTheProbesFillTheInterval: probes that take the whole interval leave
// nothing to wait for; a zero wait is not a wait.
func TestPeerProbeDoesNotWaitWhenTheProbesFillTheInterval(t *testing.T) {
	clk := &manualClock{now: time.Date(2026, 11, 21, 5, 40, 0, 0, time.UTC)}
	slow := func() (failover.Health, error) {
		clk.advance(5 * time.Second)
		return failover.Health{Status: 200, Role: "writer"}, nil
	}
	p := &scriptedProber{answers: map[string][]func() (failover.Health, error){peerAPI: {slow}, publicURL: {slow}}}
	var slept []time.Duration
	probe := &failover.PeerProbe{Prober: p, Metrics: &fakeMetrics{}, PeerAPIURL: peerAPI, PublicURL: publicURL, LocalAPIURL: localAPI,
		Samples: 3, Interval: 10 * time.Second, Timeout: 10 * time.Second, Now: clk.Now,
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
	rep, err := probe.Handle(context.Background(), nil)
	if err != nil || len(rep.Peer) != 3 {
		t.Fatalf("got %d samples, %v; want 3", len(rep.Peer), err)
	}
	if len(slept) != 0 {
		t.Errorf("waits: got %v, want none", slept)
	}
}

// TestPeerProbeWatchdog: while this region writes, each sample also says whether "exactly one
// region writes and all traffic goes to it" holds, and names what breaks it; only an answer the
// public endpoint served is evidence of where traffic goes. A region that does not write publishes
// no consistency samples.
func TestPeerProbeWatchdog(t *testing.T) {
	westWriter := failover.Health{Status: 200, Region: "us-west-2", Role: "writer"}
	tests := []struct {
		name     string
		local    failover.Health
		peer     failover.Health
		public   failover.Health
		wantBits string
		wantSays string
	}{
		{"all well", westWriter, failover.Health{Status: 200, Region: "us-east-1", Role: "reader"}, westWriter, "1 1", ""},
		{"the peer writes too", westWriter, failover.Health{Status: 200, Region: "us-east-1", Role: "writer"}, westWriter, "0 0",
			"two regions accept writes"},
		{"public traffic goes to the peer", westWriter, failover.Health{Status: 200, Region: "us-east-1", Role: "reader"},
			failover.Health{Status: 200, Region: "us-east-1", Role: "reader"}, "0 0", "this region writes but receives no traffic"},
		{"the public endpoint does not answer", westWriter, failover.Health{Status: 200, Region: "us-east-1", Role: "reader"},
			failover.Health{Status: 502, Region: "us-east-1"}, "1 1", ""},
		{"the public answer names no region", westWriter, failover.Health{Status: 200, Region: "us-east-1", Role: "reader"},
			failover.Health{Status: 200, Role: "writer"}, "1 1", ""},
		{"this region does not write", failover.Health{Status: 200, Region: "us-west-2", Role: "reader"},
			failover.Health{Status: 200, Region: "us-east-1", Role: "writer"}, failover.Health{Status: 200, Region: "us-east-1", Role: "writer"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &manualClock{now: time.Date(2026, 11, 21, 5, 40, 0, 0, time.UTC)}
			p := &scriptedProber{answers: map[string][]func() (failover.Health, error){
				localAPI:  {answer(clk, time.Millisecond, tt.local, nil)},
				peerAPI:   {answer(clk, time.Millisecond, tt.peer, nil)},
				publicURL: {answer(clk, time.Millisecond, tt.public, nil)},
			}}
			m := &fakeMetrics{}
			probe := &failover.PeerProbe{Prober: p, Metrics: m, Region: "us-west-2", PeerAPIURL: peerAPI, PublicURL: publicURL,
				LocalAPIURL: localAPI, Samples: 2, Interval: 10 * time.Second, Timeout: time.Second, Now: clk.Now,
				Sleep: func(_ context.Context, d time.Duration) error { clk.advance(d); return nil }}
			rep, err := probe.Handle(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := healthyBits(m.consistency); got != tt.wantBits {
				t.Errorf("consistency samples healthy: got %q, want %q", got, tt.wantBits)
			}
			got := strings.Join(rep.Inconsistencies, "; ")
			if tt.wantSays == "" && got != "" || !strings.Contains(got, tt.wantSays) {
				t.Errorf("inconsistencies: got %q, want %q", got, tt.wantSays)
			}
			if len(rep.Inconsistencies) > 1 {
				t.Errorf("inconsistencies: got %q, want each named once", rep.Inconsistencies)
			}
		})
	}
}

// A switchover to this region in the middle of a batch: the first samples are taken while the peer
// writes, the last ones after this region was promoted and the peer correctly says it does not.
// Each sample is judged by the roles when it was taken, so the batch is healthy throughout; judged
// by the roles at the start it would count the last samples as failures and raise the alarm of the
// region that has just been promoted, which would then switch the writer back.
func TestPeerProbeJudgesEachSampleByTheRolesThen(t *testing.T) {
	writer := failover.Health{Status: 200, Role: "writer"}
	reader := failover.Health{Status: 200, Role: "reader"}
	clk := &manualClock{now: time.Date(2026, 11, 30, 2, 27, 54, 0, time.UTC)}
	step := func(h failover.Health) func() (failover.Health, error) {
		return answer(clk, 5*time.Millisecond, h, nil)
	}
	p := &scriptedProber{answers: map[string][]func() (failover.Health, error){
		localAPI:  {step(reader), step(reader), step(writer), step(writer)},
		peerAPI:   {step(writer), step(writer), step(reader), step(reader)},
		publicURL: {step(writer)},
	}}
	m := &fakeMetrics{}
	probe := &failover.PeerProbe{Prober: p, Metrics: m, PeerAPIURL: peerAPI, PublicURL: publicURL, LocalAPIURL: localAPI,
		Samples: 4, Interval: 10 * time.Second, Timeout: 2 * time.Second, Now: clk.Now,
		Sleep: func(_ context.Context, d time.Duration) error { clk.advance(d); return nil }}
	rep, err := probe.Handle(context.Background(), json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := healthyBits(m.peer); got != "1 1 1 1" {
		t.Errorf("peer samples healthy: got %s, want 1 1 1 1 (the peer wrote, then this region did)", got)
	}
	if rep.ExpectPeerWriter {
		t.Errorf("expect peer writer after the last sample: got true, want false (this region writes by then)")
	}
	if len(m.consistency) != 2 {
		t.Errorf("consistency samples: got %d, want 2 (taken only while this region writes)", len(m.consistency))
	}
}
