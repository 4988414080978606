package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// LoadOptions shape the drill's clients. Zero values take the defaults.
type LoadOptions struct {
	// URL is the edge's base URL: every request goes through it, as users' requests do.
	URL string
	// RunID marks this run's tasks so that its rows are told apart from any other.
	RunID string
	// Clients run concurrently, each alternating a write and a read [4].
	Clients int
	// Pause is each client's pause between operations [25ms].
	Pause time.Duration
	// AttemptTimeout bounds one HTTP request [2s].
	AttemptTimeout time.Duration
	// WriteDeadline is how long one logical write is retried before it is given up [20s].
	WriteDeadline time.Duration
	// MaxOps bounds each client's operations, so a run is bounded in count as well as time [5000].
	MaxOps int
}

func (o LoadOptions) withDefaults() LoadOptions {
	if o.Clients == 0 {
		o.Clients = 4
	}
	if o.Pause == 0 {
		o.Pause = 25 * time.Millisecond
	}
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = 2 * time.Second
	}
	if o.WriteDeadline == 0 {
		o.WriteDeadline = 20 * time.Second
	}
	if o.MaxOps == 0 {
		o.MaxOps = 5000
	}
	return o
}

// Attempt is one HTTP request the clients sent.
type Attempt struct {
	Start   time.Time
	Latency time.Duration
	// Op is "write" (POST /todos) or "read" (GET /todos/{id}).
	Op string
	// Status is the HTTP status, 0 when no response came back.
	Status int
	// Region is the X-Switchyard-Region of the response.
	Region string
	// Err is the transport error, when there was no response.
	Err string
}

// Failed reports whether the request failed in a way a user notices as an outage: no answer or a
// server-side error. A 404 for a write that a failover lost is an answer, counted by status.
func (a Attempt) Failed() bool { return a.Status == 0 || a.Status >= 500 }

// Write is one logical write: a task, its Idempotency-Key, and what came of it.
type Write struct {
	Key, Task string
	// ID is the created todo's id, set once acknowledged.
	ID string
	// Acked is when the 201 arrived; zero if the write was never acknowledged.
	Acked    time.Time
	Region   string
	Attempts int
	// GaveUp says why an unacknowledged write was abandoned.
	GaveUp string
}

// Recording is everything the clients saw.
type Recording struct {
	Attempts []Attempt
	Writes   []Write
}

// Acked returns the acknowledged writes.
func (r *Recording) Acked() []Write {
	var out []Write
	for _, w := range r.Writes {
		if !w.Acked.IsZero() {
			out = append(out, w)
		}
	}
	return out
}

// Load is the running clients.
type Load struct {
	opts   LoadOptions
	client *http.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu  sync.Mutex
	rec Recording

	ok, failed, acked atomic.Int64
}

// StartLoad starts the clients; Stop ends them and returns the recording.
func StartLoad(ctx context.Context, opts LoadOptions) *Load {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	l := &Load{opts: opts, cancel: cancel, client: &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: opts.AttemptTimeout}).DialContext,
			MaxIdleConnsPerHost: opts.Clients * 2,
			IdleConnTimeout:     30 * time.Second,
		},
		Timeout: opts.AttemptTimeout,
	}}
	for c := range opts.Clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.client1(ctx, c)
		}()
	}
	return l
}

// Counts returns the requests that succeeded and failed so far, and the writes acknowledged.
func (l *Load) Counts() (ok, failed, acked int64) {
	return l.ok.Load(), l.failed.Load(), l.acked.Load()
}

// Stop ends the clients (a write being retried is abandoned) and returns what they recorded.
func (l *Load) Stop() *Recording {
	l.cancel()
	l.wg.Wait()
	l.client.CloseIdleConnections()
	l.mu.Lock()
	defer l.mu.Unlock()
	return &Recording{Attempts: append([]Attempt(nil), l.rec.Attempts...), Writes: append([]Write(nil), l.rec.Writes...)}
}

func (l *Load) client1(ctx context.Context, c int) {
	var mine []string // ids this client wrote, to read back
	for n := range l.opts.MaxOps {
		if ctx.Err() != nil {
			return
		}
		if n%2 == 0 || len(mine) == 0 {
			w := l.write(ctx, c, n)
			if !w.Acked.IsZero() {
				mine = append(mine, w.ID)
			}
			l.mu.Lock()
			l.rec.Writes = append(l.rec.Writes, w)
			l.mu.Unlock()
		} else {
			l.read(ctx, mine[rand.IntN(len(mine))])
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.opts.Pause):
		}
	}
}

// write creates one todo, retrying with the same Idempotency-Key on every failure that may be
// passing (no answer, 5xx, 429), with exponential backoff, until WriteDeadline.
func (l *Load) write(ctx context.Context, c, n int) Write {
	w := Write{Key: fmt.Sprintf("%s-c%d-n%d", l.opts.RunID, c, n)}
	// The task repeats the key: a duplicate row is two rows with the same task.
	w.Task = "drill " + w.Key
	body, _ := json.Marshal(map[string]string{"task": w.Task, "status": "todo"})
	deadline := time.Now().Add(l.opts.WriteDeadline)
	backoff := 20 * time.Millisecond
	for {
		w.Attempts++
		a, resp := l.do(ctx, "write", http.MethodPost, "/todos", body, w.Key)
		switch {
		case a.Status == http.StatusCreated:
			var t struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(resp, &t); err != nil || t.ID == "" {
				w.GaveUp = fmt.Sprintf("201 without a todo id: %.200s", resp)
				return w
			}
			w.ID, w.Acked, w.Region = t.ID, a.Start.Add(a.Latency), a.Region
			l.acked.Add(1)
			return w
		case a.Status != 0 && a.Status < 500 && a.Status != http.StatusTooManyRequests:
			w.GaveUp = fmt.Sprintf("HTTP %d: %.200s", a.Status, resp)
			return w
		}
		if ctx.Err() != nil {
			w.GaveUp = "the run ended while retrying"
			return w
		}
		if time.Now().Add(backoff).After(deadline) {
			w.GaveUp = fmt.Sprintf("still failing after %v (last: HTTP %d %s)", l.opts.WriteDeadline, a.Status, a.Err)
			return w
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff + rand.N(backoff/2)):
		}
		backoff = min(backoff*2, 250*time.Millisecond)
	}
}

func (l *Load) read(ctx context.Context, id string) {
	l.do(ctx, "read", http.MethodGet, "/todos/"+id, nil, "")
}

func (l *Load) do(ctx context.Context, op, method, path string, body []byte, key string) (Attempt, []byte) {
	a := Attempt{Start: time.Now(), Op: op}
	req, err := http.NewRequestWithContext(ctx, method, l.opts.URL+path, bytes.NewReader(body))
	if err != nil {
		a.Err = err.Error()
		return a, nil
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	var respBody []byte
	resp, err := l.client.Do(req)
	if err == nil {
		respBody, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		a.Status, a.Region = resp.StatusCode, resp.Header.Get("X-Switchyard-Region")
	}
	a.Latency = time.Since(a.Start)
	if err != nil && a.Status == 0 {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return a, nil // the run ended: not an outcome
		}
		a.Err = shortErr(err)
	}
	if a.Failed() {
		l.failed.Add(1)
	} else {
		l.ok.Add(1)
	}
	l.mu.Lock()
	l.rec.Attempts = append(l.rec.Attempts, a)
	l.mu.Unlock()
	return a, respBody
}

// shortErr names a transport failure without the URL, which the report repeats for nothing.
func shortErr(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Op + ": " + op.Err.Error()
	}
	return err.Error()
}
