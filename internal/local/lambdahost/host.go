package lambdahost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Defaults applied where a Config or Function leaves a field zero. Timeout and memory are
// Lambda's own defaults; the idle timeout is far shorter than Lambda's because local machines are
// small and a cold start here costs milliseconds.
const (
	DefaultRegion      = "us-east-1"
	DefaultAccountID   = "123456789012"
	DefaultTimeout     = 3 * time.Second
	DefaultMemoryMB    = 128
	DefaultConcurrency = 10
	DefaultIdleTimeout = 2 * time.Minute
	DefaultInitTimeout = 10 * time.Second
	// DefaultBodyReadTimeout is far above what loopback needs for a 6 MB payload.
	DefaultBodyReadTimeout = 10 * time.Second
)

// DefaultAsyncRetryDelays are Lambda's waits before the two retries of a failed Event invocation.
var DefaultAsyncRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// Function configures one function the host can run.
type Function struct {
	// Name is the function name callers use ("todo-api").
	Name string
	// Binary is the path of the function's `bootstrap` executable.
	Binary string
	// Env holds the function's own environment variables; the host adds Lambda's standard ones.
	Env map[string]string
	// Timeout bounds one invocation; the process is killed when it is exceeded.
	Timeout time.Duration
	// MemoryMB is reported to the function in AWS_LAMBDA_FUNCTION_MEMORY_SIZE (not enforced).
	MemoryMB int
	// Concurrency is the most processes (execution environments) the function may have at once.
	// Invocations beyond it wait for a free process instead of being throttled, so local load
	// tests measure the function rather than a 429.
	Concurrency int
	// Routes are the HTTP API routes served by this function.
	Routes []Route
	// Aliases are the alias names callers may qualify the function with (as AutoPublishAlias
	// publishes "live"); each runs the configured binary. Any other qualifier but $LATEST is
	// refused with ResourceNotFoundException, as Lambda refuses an alias or version that does not exist.
	Aliases []string
}

// Route is one HTTP API route: Method is an HTTP method or "ANY"; Path may hold `{name}`
// parameters and a final greedy `{name+}`.
type Route struct {
	Method string
	Path   string
}

// Config configures a Host.
type Config struct {
	Functions []Function
	// Region and AccountID make up the functions' ARNs and AWS_REGION.
	Region    string
	AccountID string
	// InvokeAddr and HTTPAddr are the loopback addresses of the Invoke API and the HTTP API;
	// empty means a free port on 127.0.0.1.
	InvokeAddr string
	HTTPAddr   string
	// IdleTimeout stops a warm process that has had no invocation for this long.
	IdleTimeout time.Duration
	// InitTimeout bounds a process's init phase (exec → first /next), as Lambda's 10 s init limit does.
	InitTimeout time.Duration
	// BodyReadTimeout bounds reading a request (headers and body) on the Invoke and HTTP APIs, so
	// a client that announces a body and sends less cannot hold a connection [DefaultBodyReadTimeout].
	BodyReadTimeout time.Duration
	// AsyncRetryDelays are the waits before the retries of an Event invocation whose function
	// failed: Lambda retries twice, about one and two minutes after the failure [1m, 2m].
	AsyncRetryDelays []time.Duration
	// Logger receives the host's own lines (process start/stop, init and invoke durations);
	// nil means JSON on os.Stderr.
	Logger *slog.Logger
	// FunctionOutput receives the functions' stdout and stderr, each line labelled with its
	// process as the log lines name it ("[todo-api#2] ..."); nil means os.Stderr.
	FunctionOutput io.Writer
}

// Host runs functions. Create it with New, then Start it; Close stops every process it started.
type Host struct {
	cfg       Config
	log       *slog.Logger
	out       *lineSink
	functions map[string]*function
	routes    *router

	invokeLn, httpLn   net.Listener
	invokeSrv, httpSrv *http.Server

	// ctx ends when the host closes: it aborts waits for processes and background invocations.
	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup // listeners and the idle reaper

	mu     sync.Mutex
	closed bool
	// down says the host plays a Lambda service outage (SetDown): every invocation is refused.
	down   bool
	active sync.WaitGroup // invocations and process reapers; joined only after closed is set
}

// reservedEnv are the variables Lambda itself sets; a function configuration cannot set them.
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_LAMBDA_RUNTIME_API": true,
	"LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

var functionName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// New checks the configuration and returns a host that is not yet listening.
func New(cfg Config) (*Host, error) {
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if cfg.AsyncRetryDelays == nil {
		cfg.AsyncRetryDelays = DefaultAsyncRetryDelays
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if cfg.FunctionOutput == nil {
		cfg.FunctionOutput = os.Stderr
	}
	if len(cfg.Functions) == 0 {
		return nil, errors.New("lambdahost: no functions configured")
	}
	h := &Host{
		cfg:       cfg,
		log:       cfg.Logger.With("region", cfg.Region),
		out:       &lineSink{w: cfg.FunctionOutput},
		functions: make(map[string]*function),
	}
	var routed []routeTarget
	for _, fc := range cfg.Functions {
		if err := validate(&fc); err != nil {
			return nil, err
		}
		if _, dup := h.functions[fc.Name]; dup {
			return nil, fmt.Errorf("lambdahost: function %q is configured twice", fc.Name)
		}
		h.functions[fc.Name] = &function{host: h, cfg: fc, slots: make(chan struct{}, fc.Concurrency)}
		for _, r := range fc.Routes {
			routed = append(routed, routeTarget{route: r, function: fc.Name})
		}
	}
	rt, err := newRouter(routed)
	if err != nil {
		return nil, err
	}
	h.routes = rt
	return h, nil
}

func validate(fc *Function) error {
	if !functionName.MatchString(fc.Name) {
		return fmt.Errorf("lambdahost: function name %q: use 1-64 letters, digits, '-' or '_'", fc.Name)
	}
	st, err := os.Stat(fc.Binary)
	if err != nil {
		return fmt.Errorf("lambdahost: function %s: binary %q: %w (build it first, e.g. `make build-local`)", fc.Name, fc.Binary, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("lambdahost: function %s: %s is not an executable file", fc.Name, fc.Binary)
	}
	for k := range fc.Env {
		if reservedEnv[k] {
			return fmt.Errorf("lambdahost: function %s: environment variable %s is reserved: Lambda sets it "+
				"(the host derives it from its configuration); remove it from the function's environment", fc.Name, k)
		}
	}
	if fc.Timeout <= 0 {
		fc.Timeout = DefaultTimeout
	}
	if fc.MemoryMB <= 0 {
		fc.MemoryMB = DefaultMemoryMB
	}
	if fc.Concurrency <= 0 {
		fc.Concurrency = DefaultConcurrency
	}
	return nil
}

// Start opens the Invoke API and HTTP API listeners. Processes start on the first invocation.
func (h *Host) Start(ctx context.Context) error {
	if h.ctx != nil {
		return errors.New("lambdahost: Start called twice")
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	var lc net.ListenConfig
	var err error
	if h.invokeLn, err = lc.Listen(ctx, "tcp", loopback(h.cfg.InvokeAddr)); err != nil {
		return fmt.Errorf("lambdahost: Invoke API listener: %w", err)
	}
	if h.httpLn, err = lc.Listen(ctx, "tcp", loopback(h.cfg.HTTPAddr)); err != nil {
		h.invokeLn.Close()
		return fmt.Errorf("lambdahost: HTTP API listener on %s: %w (is another server using the port?)", loopback(h.cfg.HTTPAddr), err)
	}
	// ReadTimeout covers the body too: without it a short body under a large Content-Length
	// holds the connection and a handler goroutine until the client gives up.
	rt := h.cfg.BodyReadTimeout
	h.invokeSrv = &http.Server{Handler: h.invokeAPI(), ReadHeaderTimeout: rt, ReadTimeout: rt}
	h.httpSrv = &http.Server{Handler: http.HandlerFunc(h.serveHTTPAPI), ReadHeaderTimeout: rt, ReadTimeout: rt}
	for _, s := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{h.invokeSrv, h.invokeLn}, {h.httpSrv, h.httpLn}} {
		h.bg.Go(func() { s.srv.Serve(s.ln) })
	}
	h.bg.Go(h.reapIdle)
	h.log.Info("lambdahost started", "invokeAPI", h.InvokeURL(), "httpAPI", h.HTTPURL(), "functions", h.FunctionNames())
	return nil
}

func loopback(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}

// InvokeURL is the Invoke API's base URL: the custom endpoint for an SDK Lambda client
// (AWS_ENDPOINT_URL_LAMBDA).
func (h *Host) InvokeURL() string { return "http://" + h.invokeLn.Addr().String() }

// HTTPURL is the HTTP API's base URL.
func (h *Host) HTTPURL() string { return "http://" + h.httpLn.Addr().String() }

// FunctionNames lists the configured functions, sorted.
func (h *Host) FunctionNames() []string {
	names := make([]string, 0, len(h.functions))
	for n := range h.functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FunctionARN is the unqualified ARN of a function on this host.
func (h *Host) FunctionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", h.cfg.Region, h.cfg.AccountID, name)
}

// PIDs lists the process ids of the function processes running now.
func (h *Host) PIDs() []int {
	var pids []int
	for name := range h.functions {
		pids = append(pids, h.FunctionPIDs(name)...)
	}
	sort.Ints(pids)
	return pids
}

// FunctionPIDs lists the live processes of one function (none for a name the host does not run),
// so a test can crash the execution environment an invocation runs in.
func (h *Host) FunctionPIDs(name string) []int {
	f, ok := h.functions[name]
	if !ok {
		return nil
	}
	var pids []int
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.live {
		if pid := s.pid(); pid != 0 {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// Close stops accepting requests, stops every function process and waits until they have exited.
// Invocations in flight end with ErrHostClosed.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.ctx == nil || h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	var errs []error
	for _, f := range h.functions {
		errs = append(errs, f.stopAll("shutdown"))
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range []*http.Server{h.httpSrv, h.invokeSrv} {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			srv.Close()
		}
	}
	h.active.Wait()
	h.bg.Wait()
	h.log.Info("lambdahost stopped")
	return errors.Join(errs...)
}

// SetDown starts (true) or ends a Lambda service outage in the host's region: while it lasts every
// invocation is refused with ErrServiceUnavailable — the Invoke API answers 503 ServiceException,
// the HTTP API 503 Service Unavailable — and taking the host down kills every function process, so
// invocations in flight end as their process does (Runtime.ExitError). Processes start afresh once
// it is up again.
func (h *Host) SetDown(down bool) error {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
	if !down {
		h.log.Info("lambdahost up again")
		return nil
	}
	h.log.Warn("lambdahost down: refusing every invocation")
	var errs []error
	for _, f := range h.functions {
		errs = append(errs, f.stopAll("the host was taken down"))
	}
	return errors.Join(errs...)
}

// enter registers an invocation unless the host is closed or down; leave with h.active.Done.
func (h *Host) enter() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.ctx == nil || h.closed:
		return ErrHostClosed
	case h.down:
		return ErrServiceUnavailable
	}
	h.active.Add(1)
	return nil
}

// reapIdle stops warm processes that have waited longer than the idle timeout.
func (h *Host) reapIdle() {
	tick := time.NewTicker(max(h.cfg.IdleTimeout/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case now := <-tick.C:
			for _, f := range h.functions {
				f.stopIdleSince(now.Add(-h.cfg.IdleTimeout))
			}
		}
	}
}

// lookup resolves what callers pass as a function: a name, name:qualifier, a partial ARN
// (account:function:name) or a full ARN of this host's region and account.
func (h *Host) lookup(ref string) (*function, string, error) {
	name, qualifier := ref, ""
	if strings.HasPrefix(ref, "arn:") {
		p := strings.Split(ref, ":")
		if len(p) < 7 || len(p) > 8 || p[1] != "aws" || p[2] != "lambda" || p[5] != "function" {
			return nil, "", fmt.Errorf("%s is not a Lambda function ARN", ref)
		}
		if p[3] != h.cfg.Region || p[4] != h.cfg.AccountID {
			return nil, "", fmt.Errorf("Function not found: %s (this host serves region %s, account %s)", ref, h.cfg.Region, h.cfg.AccountID)
		}
		name = p[6]
		if len(p) == 8 {
			qualifier = p[7]
		}
	} else if p := strings.Split(ref, ":"); len(p) >= 3 && p[1] == "function" {
		if p[0] != h.cfg.AccountID {
			return nil, "", fmt.Errorf("Function not found: %s (this host serves account %s)", ref, h.cfg.AccountID)
		}
		name = p[2]
		if len(p) == 4 {
			qualifier = p[3]
		}
	} else if n, q, ok := strings.Cut(ref, ":"); ok {
		name, qualifier = n, q
	}
	f, ok := h.functions[name]
	if !ok {
		return nil, "", fmt.Errorf("Function not found: %s", h.FunctionARN(name))
	}
	if qualifier != "" && qualifier != "$LATEST" && !slices.Contains(f.cfg.Aliases, qualifier) {
		return nil, "", fmt.Errorf("Function not found: %s:%s (the host serves $LATEST and the aliases %v)", h.FunctionARN(name), qualifier, f.cfg.Aliases)
	}
	return f, qualifier, nil
}
