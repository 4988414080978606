package edge

import (
	"context"
	"sync"
	"time"
)

// SignalCache reads the signal record through Lookup and keeps each answer for TTL, so one container
// asks DNS at most once per TTL per name; the Node.js loader applies the same policy in front of the
// WebAssembly build. A failed lookup keeps serving the last good answer, marked with the error, for up
// to MaxStale after it was read, then nothing (the pinned origin): an answer too old to trust is
// worse than the distribution's own choice.
type SignalCache struct {
	// Lookup returns the TXT strings of name, each one's chunks joined.
	Lookup func(ctx context.Context, name string) ([]string, error)
	// TTL is 5 seconds when zero; Timeout bounds one lookup, 1 second when zero; MaxStale is
	// 60 seconds when zero.
	TTL, Timeout, MaxStale time.Duration
	Now                    func() time.Time

	mu      sync.Mutex
	entries map[string]*signalEntry
}

type signalEntry struct {
	sig       Signal
	good      time.Time // when Answers were read
	attempted time.Time // when the last lookup ran, successful or not
}

// Signal returns the current signal for name, looking it up when the cached one is older than TTL.
func (c *SignalCache) Signal(ctx context.Context, name string) Signal {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.entries == nil {
		c.entries = map[string]*signalEntry{}
	}
	e := c.entries[name]
	if e == nil {
		e = &signalEntry{}
		c.entries[name] = e
	}
	if e.attempted.IsZero() || now.Sub(e.attempted) >= or(c.TTL, 5*time.Second) {
		e.attempted = now
		lctx, cancel := context.WithTimeout(ctx, or(c.Timeout, time.Second))
		answers, err := c.Lookup(lctx, name)
		cancel()
		if err == nil {
			e.sig, e.good = Signal{Answers: answers}, now
		} else {
			e.sig.Error = err.Error()
		}
	}
	if e.sig.Error != "" && now.Sub(e.good) > or(c.MaxStale, time.Minute) {
		return Signal{Error: e.sig.Error}
	}
	return e.sig
}

func (c *SignalCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func or(d, fallback time.Duration) time.Duration {
	if d == 0 {
		return fallback
	}
	return d
}
