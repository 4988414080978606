package drill

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// stepTap stands between a region's state machine runs and its Lambda host's Invoke API: it
// carries every Task state's invocation unchanged, and lets a fault scenario act at the moment a
// step's function has answered, before the runner hears the answer. That is where a dying runner
// hurts most: the step's side effect (a promotion asked for, traffic moved) has happened, and the
// execution never records it.
type stepTap struct {
	ln  net.Listener
	srv *http.Server

	mu sync.Mutex
	// armed[function] runs once, when the function next answers a Task state; requested[function]
	// runs once, when a Task state next invokes it (before the invocation reaches the host).
	armed, requested map[string]func()
}

// newStepTap listens on a free port of 127.0.0.1 and forwards to the Invoke API at invokeURL.
func newStepTap(invokeURL string) (*stepTap, error) {
	target, err := url.Parse(invokeURL)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("step tap: listen on 127.0.0.1: %w", err)
	}
	t := &stepTap{ln: ln, armed: map[string]func(){}, requested: map[string]func(){}}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if fault := t.take(t.requested, invokedFunction(pr.In.URL.Path)); fault != nil {
				fault()
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if fault := t.take(t.armed, invokedFunction(resp.Request.URL.Path)); fault != nil {
				fault()
			}
			return nil
		},
	}
	t.srv = &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go t.srv.Serve(ln) //nolint:errcheck // ends with Close
	return t, nil
}

// URL is the tap's Invoke API base URL, for the state machine's Lambda client.
func (t *stepTap) URL() string { return "http://" + t.ln.Addr().String() }

// arm makes fault run once, when function next answers an invocation.
func (t *stepTap) arm(function string, fault func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.armed[function] = fault
}

// armRequest makes fault run once, when a Task state next invokes function.
func (t *stepTap) armRequest(function string, fault func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requested[function] = fault
}

// disarm drops the faults armed for function that have not run.
func (t *stepTap) disarm(function string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.armed, function)
	delete(t.requested, function)
}

func (t *stepTap) take(faults map[string]func(), function string) func() {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := faults[function]
	delete(faults, function)
	return f
}

// Close stops the tap; invocations in flight through it end.
func (t *stepTap) Close() error {
	err := t.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// invokedFunction is the function name of an Invoke API path,
// /2015-03-31/functions/{FunctionName}/invocations, where FunctionName may be a name or an ARN.
func invokedFunction(path string) string {
	rest, ok := strings.CutPrefix(path, "/2015-03-31/functions/")
	if !ok {
		return ""
	}
	ref, ok := strings.CutSuffix(rest, "/invocations")
	if !ok {
		return ""
	}
	if u, err := url.PathUnescape(ref); err == nil {
		ref = u
	}
	// arn:aws:lambda:region:account:function:name[:qualifier]
	if p := strings.Split(ref, ":"); len(p) >= 7 && p[0] == "arn" {
		return p[6]
	}
	return ref
}

// stopRuns stops every running execution of region r's state machine through Step Functions'
// StopExecution, as an operator, a timeout or a failing Step Functions would end it: the
// execution ends ABORTED wherever it was.
func (e *Env) stopRuns(ctx context.Context, r *Region, cause string) (int, error) {
	c := sfn.NewFromConfig(e.Cloud.Config(r.AWSRegion))
	pages := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{StateMachineArn: aws.String(r.Machine), StatusFilter: sfntypes.ExecutionStatusRunning})
	var stopped int
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return stopped, fmt.Errorf("list %s's running executions: %w", r.Name, err)
		}
		for _, ex := range page.Executions {
			if _, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: ex.ExecutionArn, Error: aws.String("Drill.RunnerKilled"), Cause: aws.String(cause)}); err != nil {
				return stopped, fmt.Errorf("stop %s: %w", aws.ToString(ex.ExecutionArn), err)
			}
			stopped++
		}
	}
	return stopped, nil
}
