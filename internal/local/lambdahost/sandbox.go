package lambdahost

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Runtime API header names (2018-06-01).
const (
	hdrRequestID      = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline       = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN    = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID        = "Lambda-Runtime-Trace-Id"
	hdrErrorType      = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody  = "Lambda-Runtime-Function-Error-Body"
	runtimeAPIVersion = "/2018-06-01/runtime"
)

// sandbox is one execution environment: a bootstrap process and the Runtime API listener only
// it talks to, so every /next and /response is known to come from that process.
type sandbox struct {
	f         *function
	name      string // "todo-api#3": the function and the process's sequence number, for logs
	cmd       *exec.Cmd
	ln        net.Listener
	srv       *http.Server
	out       *procOutput
	outW      *os.File      // the write end of the process's stdout/stderr pipe, kept to flush it
	outDone   chan struct{} // closed when the pipe has been read to its end
	outR      *os.File
	next      chan *invocation // unbuffered: an event is handed over only to a process asking for one
	ready     chan struct{}    // closed at the first /next: init is over
	readyOnce sync.Once

	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // the exit status, valid after exited is closed

	start, readyAt time.Time
	initDuration   time.Duration

	mu         sync.Mutex
	current    *invocation
	initErr    *FunctionError // posted to /init/error
	stopReason string
	lastUsed   time.Time // guarded by f.mu
}

// startSandbox starts a process and waits for its init to finish. An init that fails or times out
// is returned as the error document Lambda would give the invocation that triggered it.
func (f *function) startSandbox(requestID string) (*sandbox, *FunctionError) {
	h := f.host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, &FunctionError{Type: "Runtime.Unknown", Message: fmt.Sprintf("RequestId: %s Error: Runtime API listener: %v", requestID, err)}
	}
	f.mu.Lock()
	f.nextID++
	s := &sandbox{
		f:      f,
		name:   f.cfg.Name + "#" + strconv.Itoa(f.nextID),
		ln:     ln,
		next:   make(chan *invocation),
		ready:  make(chan struct{}),
		exited: make(chan struct{}),
	}
	f.mu.Unlock()
	s.srv = &http.Server{Handler: s.runtimeAPI(), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)

	s.cmd = exec.Command(f.cfg.Binary)
	s.cmd.Dir = filepath.Dir(f.cfg.Binary)
	s.cmd.Env = s.environment()
	s.out = h.out.process(s.name)
	// The host owns the output pipe (rather than letting os/exec copy it) so that it can write a
	// flush marker behind the process's own output: see procOutput.stopCapture.
	outR, outW, err := os.Pipe()
	if err != nil {
		s.srv.Close()
		return nil, &FunctionError{Type: "Runtime.Unknown", Message: fmt.Sprintf("RequestId: %s Error: output pipe: %v", requestID, err)}
	}
	s.outW, s.outDone = outW, make(chan struct{})
	s.cmd.Stdout, s.cmd.Stderr = outW, outW
	setProcAttr(s.cmd)
	s.start = time.Now()
	if err := s.cmd.Start(); err != nil {
		s.srv.Close()
		outR.Close()
		outW.Close()
		return nil, &FunctionError{Type: "Runtime.InvalidEntrypoint",
			Message: fmt.Sprintf("RequestId: %s Error: start %s: %v", requestID, f.cfg.Binary, err)}
	}
	go func() {
		defer close(s.outDone)
		defer outR.Close()
		io.Copy(s.out, outR) //nolint:errcheck // ends at EOF, or when reap closes the read end
	}()
	s.outR = outR
	f.mu.Lock()
	if f.live == nil {
		f.live = make(map[*sandbox]struct{})
	}
	f.live[s] = struct{}{}
	f.mu.Unlock()
	h.log.Info("process start", "function", f.cfg.Name, "process", s.name, "pid", s.cmd.Process.Pid,
		"binary", f.cfg.Binary, "runtimeAPI", ln.Addr().String())
	h.active.Go(s.reap) // safe: this invocation holds the count above zero

	timer := time.NewTimer(h.cfg.InitTimeout)
	defer timer.Stop()
	select {
	case <-s.ready:
		s.initDuration = s.readyAt.Sub(s.start)
		h.log.Info("process ready", "function", f.cfg.Name, "process", s.name, "pid", s.pid(), "initDurationMs", ms(s.initDuration))
		return s, nil
	case <-s.exited:
		if e := s.postedInitError(); e != nil {
			return nil, e
		}
		return nil, &FunctionError{Type: "Runtime.ExitError",
			Message: fmt.Sprintf("RequestId: %s Error: Runtime exited during init with error: %s", requestID, exitText(s.waitErr))}
	case <-timer.C:
		s.stop("init timeout")
		return nil, &FunctionError{Type: "Sandbox.Timedout",
			Message: fmt.Sprintf("RequestId: %s Error: init did not finish within %s (no call to /runtime/invocation/next)", requestID, h.cfg.InitTimeout)}
	case <-h.ctx.Done():
		s.stop("shutdown")
		return nil, errClosing
	}
}

func (s *sandbox) postedInitError() *FunctionError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initErr
}

// environment is what Lambda gives a provided.al2023 process, plus the function's own variables.
func (s *sandbox) environment() []string {
	h, fc := s.f.host, s.f.cfg
	dir := filepath.Dir(fc.Binary)
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=" + dir,
		"LAMBDA_RUNTIME_DIR=" + dir,
		"AWS_LAMBDA_RUNTIME_API=" + s.ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME=" + fc.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(fc.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + fc.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
		"AWS_REGION=" + h.cfg.Region,
		"AWS_DEFAULT_REGION=" + h.cfg.Region,
		// Keeps X-Ray instrumentation quiet and on loopback; a function's Env may point it elsewhere.
		"AWS_XRAY_CONTEXT_MISSING=LOG_ERROR",
		"AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000",
	}
	for k, v := range fc.Env {
		env = append(env, k+"="+v) // later entries win in os/exec
	}
	return env
}

// reap waits for the process to end, then releases its listener and drops it from the pool.
func (s *sandbox) reap() {
	s.waitErr = s.cmd.Wait()
	defer close(s.exited) // last: whoever waits for the exit also finds its log line written
	s.srv.Close()
	// The pipe ends when every writer has closed it: the host's copy now, the process's at its
	// exit. A bootstrap that leaves a child holding it must not stall the reaping.
	s.outW.Close()
	select {
	case <-s.outDone:
	case <-time.After(time.Second):
		s.outR.Close()
		<-s.outDone
	}
	s.out.close()
	s.f.forget(s)
	s.mu.Lock()
	reason := s.stopReason
	s.mu.Unlock()
	if reason == "" {
		reason = "exited"
	}
	s.f.host.log.Info("process stop", "function", s.f.cfg.Name, "process", s.name, "pid", s.cmd.Process.Pid,
		"reason", reason, "exit", exitText(s.waitErr), "uptimeMs", ms(time.Since(s.start)))
}

func (s *sandbox) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

func (s *sandbox) pid() int {
	if s.hasExited() || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// stop ends the process as Lambda's shutdown phase does: SIGTERM, a short grace, then SIGKILL.
// A process stopped for a timeout gets SIGKILL at once.
func (s *sandbox) stop(reason string) error {
	s.mu.Lock()
	if s.stopReason == "" {
		s.stopReason = reason
	}
	s.mu.Unlock()
	if s.hasExited() {
		return nil
	}
	if reason != "timeout" {
		s.cmd.Process.Signal(sigterm)
		select {
		case <-s.exited:
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("lambdahost: kill %s (pid %d): %w", s.name, s.cmd.Process.Pid, err)
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("lambdahost: %s (pid %d) did not exit after SIGKILL", s.name, s.cmd.Process.Pid)
	}
}

// run hands one event to a warm process and waits for its answer, its death or its deadline.
// retry is true when the process exited before taking the event, so the event never ran.
func (s *sandbox) run(inv *invocation) (a answer, took time.Duration, retry bool) {
	fc := s.f.cfg
	begin := time.Now()
	inv.deadline = begin.Add(fc.Timeout)
	timer := time.NewTimer(fc.Timeout)
	defer timer.Stop()
	select {
	case s.next <- inv:
	case <-s.exited:
		return answer{err: s.exitError(inv)}, time.Since(begin), true
	case <-timer.C:
		return s.timedOut(inv), time.Since(begin), false
	case <-s.f.host.ctx.Done():
		return answer{err: errClosing}, time.Since(begin), false
	}
	select {
	case a := <-inv.done:
		return a, time.Since(begin), false
	case <-s.exited:
		// A panicking Go function posts its error and then exits: prefer what it posted.
		select {
		case a := <-inv.done:
			return a, time.Since(begin), false
		default:
		}
		return answer{err: s.exitError(inv)}, time.Since(begin), false
	case <-timer.C:
		return s.timedOut(inv), time.Since(begin), false
	case <-s.f.host.ctx.Done():
		return answer{err: errClosing}, time.Since(begin), false
	}
}

func (s *sandbox) timedOut(inv *invocation) answer {
	s.stop("timeout")
	return answer{err: &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("%s %s Task timed out after %.2f seconds",
		time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, s.f.cfg.Timeout.Seconds())}}
}

func (s *sandbox) exitError(inv *invocation) *FunctionError {
	<-s.exited
	return &FunctionError{Type: "Runtime.ExitError",
		Message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", inv.id, exitText(s.waitErr))}
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	return err.Error()
}

// runtimeAPI serves the Runtime API to this sandbox's process only.
func (s *sandbox) runtimeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimeAPIVersion+"/invocation/next", s.handleNext)
	mux.HandleFunc("POST "+runtimeAPIVersion+"/invocation/{id}/response", s.handleResponse)
	mux.HandleFunc("POST "+runtimeAPIVersion+"/invocation/{id}/error", s.handleError)
	mux.HandleFunc("POST "+runtimeAPIVersion+"/init/error", s.handleInitError)
	return mux
}

func (s *sandbox) handleNext(w http.ResponseWriter, r *http.Request) {
	s.readyOnce.Do(func() {
		s.readyAt = time.Now()
		close(s.ready)
	})
	select {
	case inv := <-s.next:
		s.mu.Lock()
		s.current = inv
		s.mu.Unlock()
		hd := w.Header()
		hd.Set(hdrRequestID, inv.id)
		hd.Set(hdrDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		hd.Set(hdrFunctionARN, inv.arn)
		hd.Set(hdrTraceID, inv.traceID)
		hd.Set("Content-Type", "application/json")
		w.Write(inv.payload)
	case <-r.Context().Done():
		// The process is being stopped (its listener closes once it is reaped): Lambda freezes an
		// idle runtime in /next rather than answering it.
	}
}

// claim returns the in-flight invocation with this id and clears it: an answer is accepted once.
func (s *sandbox) claim(w http.ResponseWriter, r *http.Request) *invocation {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil || s.current.id != id {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+id+" is in flight in this environment")
		return nil
	}
	inv := s.current
	s.current = nil
	return inv
}

func (s *sandbox) handleResponse(w http.ResponseWriter, r *http.Request) {
	body, tooLarge, err := readLimited(r.Body)
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", "read response body: "+err.Error())
		return
	}
	inv := s.claim(w, r)
	if inv == nil {
		return
	}
	switch {
	case tooLarge:
		inv.done <- answer{err: &FunctionError{Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayload)}}
		runtimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response payload exceeds 6 MB")
		return
	case r.Trailer.Get(hdrErrorType) != "":
		// aws-lambda-go reports an error met while streaming the response in trailers.
		doc, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody))
		inv.done <- errorAnswer(doc, r.Trailer.Get(hdrErrorType))
	default:
		inv.done <- answer{payload: body}
	}
	accepted(w)
}

func (s *sandbox) handleError(w http.ResponseWriter, r *http.Request) {
	body, _, err := readLimited(r.Body)
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", "read error body: "+err.Error())
		return
	}
	inv := s.claim(w, r)
	if inv == nil {
		return
	}
	inv.done <- errorAnswer(body, r.Header.Get(hdrErrorType))
	accepted(w)
}

func (s *sandbox) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _, err := readLimited(r.Body)
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", "read error body: "+err.Error())
		return
	}
	a := errorAnswer(body, r.Header.Get(hdrErrorType))
	s.mu.Lock()
	s.initErr = a.err
	s.mu.Unlock()
	accepted(w)
	// Lambda expects the runtime to exit after reporting; one that lingers is stopped.
	go func() {
		select {
		case <-s.exited:
		case <-time.After(time.Second):
			s.stop("init error")
		}
	}()
}

// errorAnswer keeps the function's error document as posted, so its errorType (the Go type name of
// the returned error, which Step Functions matches) reaches the caller unchanged.
func errorAnswer(doc []byte, headerType string) answer {
	var fe FunctionError
	if err := json.Unmarshal(doc, &fe); err == nil && (fe.Type != "" || fe.Message != "") {
		if fe.Type == "" {
			fe.Type = headerType
		}
		return answer{payload: doc, err: &fe}
	}
	if headerType == "" {
		headerType = "Runtime.Unknown"
	}
	return answer{err: &FunctionError{Type: headerType, Message: string(doc)}}
}

func readLimited(r io.Reader) (body []byte, tooLarge bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r, MaxPayload+1))
	if err != nil {
		return nil, false, err
	}
	if len(body) > MaxPayload {
		io.Copy(io.Discard, r) // the trailers follow the body
		return nil, true, nil
	}
	return body, false, nil
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func runtimeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(FunctionError{Type: typ, Message: msg})
}
