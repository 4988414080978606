package lambdahost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MaxPayload is Lambda's limit for a synchronous request or response payload (6 MB).
const MaxPayload = 6 * 1024 * 1024

// Result is the outcome of one invocation that reached the function (or failed trying to start it).
type Result struct {
	RequestID string
	// Payload is the function's response, or when FunctionError is set the error document
	// ({"errorMessage", "errorType", ...}) as Lambda returns it.
	Payload []byte
	// FunctionError is set when the function failed: an error or panic it reported, a crash,
	// an init failure or a timeout. The Invoke API then answers X-Amz-Function-Error: Unhandled.
	FunctionError *FunctionError
	// Duration runs from handing the event to the process to its answer; ColdStart says a new
	// process was started for this invocation, and InitDuration how long its init took.
	Duration     time.Duration
	ColdStart    bool
	InitDuration time.Duration
	// Log is what the invocation logged, framed by Lambda's START, END and REPORT lines; set when
	// the caller asked for it (the Invoke API's LogType: Tail).
	Log []byte
}

// FunctionError is Lambda's error document.
type FunctionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// ErrHostClosed is returned for invocations that arrive or wait while the host closes.
var ErrHostClosed = errors.New("lambdahost: host is closed")

// ErrServiceUnavailable is returned for invocations while the host is down (SetDown), as Lambda
// answers during an outage of its region.
var ErrServiceUnavailable = errors.New("lambdahost: the Lambda service is unavailable (the host is down)")

// ErrPayloadTooLarge says an event exceeds MaxPayload, which Lambda refuses.
var ErrPayloadTooLarge = fmt.Errorf("the event exceeds Lambda's %d-byte limit for a synchronous invocation", MaxPayload)

// ErrInvalidPayload says an event is not JSON, which Lambda refuses before running anything.
var ErrInvalidPayload = errors.New("could not parse request body into json: the event must be JSON")

// NotFoundError says no function on this host matches what the caller named.
type NotFoundError struct{ msg string }

func (e *NotFoundError) Error() string { return e.msg }

// invocation is one event on its way through a process.
type invocation struct {
	id       string
	arn      string
	traceID  string
	payload  []byte
	log      bool // capture what the process writes while it runs this invocation
	deadline time.Time
	done     chan answer // buffered: the Runtime API handler never blocks on a caller
}

// answer is what the Runtime API received for an invocation.
type answer struct {
	payload []byte
	err     *FunctionError
}

// Invoke runs one synchronous invocation of the named function (a name, name:qualifier or ARN).
// The error is nil whenever the function was reached: function failures are in Result.FunctionError.
func (h *Host) Invoke(ctx context.Context, function string, payload []byte) (*Result, error) {
	return h.invoke(ctx, function, payload, invokeOptions{})
}

// invokeOptions are what the Invoke API adds to an invocation.
type invokeOptions struct {
	requestID string // empty: a new one; an Event invocation keeps its ID across retries
	log       bool   // capture the invocation's log into Result.Log
}

func (h *Host) invoke(ctx context.Context, function string, payload []byte, opts invokeOptions) (*Result, error) {
	if err := h.enter(); err != nil {
		return nil, err
	}
	defer h.active.Done()
	f, qualifier, err := h.lookup(function)
	if err != nil {
		return nil, &NotFoundError{err.Error()}
	}
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes", ErrPayloadTooLarge, len(payload))
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		return nil, ErrInvalidPayload
	}
	arn := h.FunctionARN(f.cfg.Name)
	if qualifier != "" {
		arn += ":" + qualifier
	}
	id := opts.requestID
	if id == "" {
		id = newRequestID()
	}
	inv := &invocation{id: id, arn: arn, traceID: newTraceID(), payload: payload, log: opts.log, done: make(chan answer, 1)}
	return f.invoke(ctx, inv)
}

// function is one configured function and its processes.
type function struct {
	host  *Host
	cfg   Function
	slots chan struct{} // one token per in-flight invocation, so processes never exceed Concurrency

	mu     sync.Mutex
	idle   []*sandbox // warm processes, most recently used last
	live   map[*sandbox]struct{}
	nextID int
}

func (f *function) invoke(ctx context.Context, inv *invocation) (*Result, error) {
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke %s: waiting for a free execution environment (concurrency %d): %w", f.cfg.Name, f.cfg.Concurrency, ctx.Err())
	case <-f.host.ctx.Done():
		return nil, ErrHostClosed
	}
	defer func() { <-f.slots }()
	for {
		s, res := f.takeIdle(), &Result{RequestID: inv.id}
		if s == nil {
			var ferr *FunctionError
			if s, ferr = f.startSandbox(inv.id); ferr == errClosing {
				return nil, ErrHostClosed
			} else if ferr != nil {
				res.ColdStart = true
				res.FunctionError, res.Payload = ferr, errorDocument(ferr)
				f.logInvoke(res)
				return res, nil
			}
			res.ColdStart, res.InitDuration = true, s.initDuration
		}
		if inv.log {
			s.out.startCapture()
		}
		a, took, retry := s.run(inv)
		var logged []byte
		if inv.log {
			logged = s.out.stopCapture(s.outW)
		}
		if retry && !res.ColdStart {
			continue // the warm process died before it took the event: the event never ran
		}
		if a.err == errClosing {
			return nil, ErrHostClosed
		}
		res.Duration, res.Payload, res.FunctionError = took, a.payload, a.err
		if a.err != nil && a.payload == nil {
			res.Payload = errorDocument(a.err)
		}
		if inv.log {
			res.Log = f.frameLog(inv.id, logged, res)
		}
		f.putIdle(s)
		f.logInvoke(res)
		return res, nil
	}
}

// errClosing marks an answer cut short by Close.
var errClosing = &FunctionError{Type: "Host.Closing", Message: "the local Lambda host is shutting down"}

func (f *function) logInvoke(res *Result) {
	attrs := []any{"function", f.cfg.Name, "requestId", res.RequestID,
		"durationMs", ms(res.Duration), "coldStart", res.ColdStart}
	if res.InitDuration > 0 {
		attrs = append(attrs, "initDurationMs", ms(res.InitDuration))
	}
	if res.FunctionError != nil {
		f.host.log.Warn("invoke failed", append(attrs, "errorType", res.FunctionError.Type, "errorMessage", res.FunctionError.Message)...)
		return
	}
	f.host.log.Info("invoke", attrs...)
}

// frameLog wraps an invocation's output in the lines Lambda writes around it in CloudWatch Logs.
func (f *function) frameLog(requestID string, logged []byte, res *Result) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "START RequestId: %s Version: $LATEST\n", requestID)
	b.Write(logged)
	fmt.Fprintf(&b, "END RequestId: %s\n", requestID)
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\t",
		requestID, ms(res.Duration), res.Duration.Milliseconds()+1, f.cfg.MemoryMB)
	if res.ColdStart {
		fmt.Fprintf(&b, "Init Duration: %.2f ms\t", ms(res.InitDuration))
	}
	b.WriteString("\n")
	return b.Bytes()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func errorDocument(e *FunctionError) []byte {
	b, _ := json.Marshal(e)
	return b
}

func (f *function) takeIdle() *sandbox {
	f.mu.Lock()
	defer f.mu.Unlock()
	for n := len(f.idle); n > 0; n = len(f.idle) {
		s := f.idle[n-1]
		f.idle = f.idle[:n-1]
		if !s.hasExited() {
			return s
		}
	}
	return nil
}

func (f *function) putIdle(s *sandbox) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.live[s]; !ok || s.hasExited() {
		return
	}
	s.lastUsed = time.Now()
	f.idle = append(f.idle, s)
}

// forget drops an exited process from the pool.
func (f *function) forget(s *sandbox) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.live, s)
	for i, o := range f.idle {
		if o == s {
			f.idle = append(f.idle[:i], f.idle[i+1:]...)
			break
		}
	}
}

func (f *function) stopIdleSince(cutoff time.Time) {
	f.mu.Lock()
	var stale []*sandbox
	keep := f.idle[:0]
	for _, s := range f.idle {
		if s.lastUsed.Before(cutoff) {
			stale = append(stale, s)
		} else {
			keep = append(keep, s)
		}
	}
	f.idle = keep
	f.mu.Unlock()
	for _, s := range stale {
		s.stop("idle")
	}
}

// stopAll stops every process of the function, busy or idle, and waits until they have exited.
func (f *function) stopAll(reason string) error {
	f.mu.Lock()
	all := make([]*sandbox, 0, len(f.live))
	for s := range f.live {
		all = append(all, s)
	}
	f.idle = nil
	f.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(all))
	for i, s := range all {
		wg.Go(func() { errs[i] = s.stop(reason) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
