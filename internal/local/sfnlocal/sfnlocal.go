// Package sfnlocal runs statemachine/*.asl.json locally with aws-local-stepfunctions (npm) under
// Node.js 22: the definition's DefinitionSubstitutions are applied as CloudFormation would, and its
// Lambda tasks call a local Lambda Invoke API (the lambdahost's, through AWS_ENDPOINT_URL_LAMBDA),
// so the real state machine drives the real function binaries.
//
// It is a local stand-in for Step Functions: nothing deployed imports it.
package sfnlocal

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

//go:embed run.mjs
var runner string

// Machine is a state machine definition ready to run locally.
type Machine struct {
	// Definition is the ASL with every ${Name} substituted.
	Definition json.RawMessage
	// LambdaEndpoint is the Invoke API's base URL Task states call (AWS_ENDPOINT_URL_LAMBDA).
	LambdaEndpoint string
	// Region is the region of the functions' ARNs and of the Lambda client.
	Region string
	// WaitOverrides replaces Wait states' durations, by state name (local runs do not wait 10 s).
	WaitOverrides map[string]time.Duration
	// RetryOverrides replaces every retrier's interval of the named states.
	RetryOverrides map[string]time.Duration
}

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Load reads an ASL file and applies substitutions to its ${Name} placeholders, as the
// DefinitionSubstitutions of AWS::StepFunctions::StateMachine do. A placeholder without a value is
// an error naming it.
func Load(path string, substitutions map[string]string) (json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var missing []string
	out := placeholder.ReplaceAllFunc(b, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := substitutions[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		// Values land inside JSON strings: escape them as JSON does, without the quotes.
		q, _ := json.Marshal(v)
		return q[1 : len(q)-1]
	})
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%s: no substitution for %s", path, strings.Join(missing, ", "))
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("%s: not valid JSON after substitution", path)
	}
	return out, nil
}

// Event is one entry of the execution's history.
type Event struct {
	// Type is the library's event type: ExecutionStarted, StateEntered, StateExited, StateFailed,
	// StateRetried, StateCaught, ExecutionSucceeded, ExecutionFailed, ...
	Type         string `json:"type"`
	TimestampMs  int64  `json:"timestamp"`
	State        string `json:"state,omitempty"`
	StateType    string `json:"stateType,omitempty"`
	Error        string `json:"error,omitempty"`
	Cause        string `json:"cause,omitempty"`
	RetryAttempt int    `json:"retryAttempt,omitempty"`
}

// Result is how an execution ended. Error is empty when it succeeded.
type Result struct {
	Output json.RawMessage `json:"output"`
	Error  string          `json:"error"`
	Cause  string          `json:"cause"`
	Events []Event         `json:"events"`
}

// Failed says the execution failed.
func (r Result) Failed() bool { return r.Error != "" }

// Entered lists the states entered, in order (a state retried or looped appears each time).
func (r Result) Entered() []string {
	var names []string
	for _, e := range r.Events {
		if e.Type == "StateEntered" {
			names = append(names, e.State)
		}
	}
	return names
}

// Execution names the run in the context object ($$.Execution).
type Execution struct {
	ARN  string
	Name string
}

// Run executes the machine with input and returns its outcome; the error is for failures to run
// it at all (no Node.js, a broken definition, ctx ended), not for a failed execution.
func (m *Machine) Run(ctx context.Context, exec Execution, input json.RawMessage) (Result, error) {
	return m.RunWithEvents(ctx, exec, input, nil)
}

// RunWithEvents is Run that also hands each event to onEvent as it happens (from one goroutine, in
// order). When the run is stopped midway (ctx ends), the result still holds the events up to then.
func (m *Machine) RunWithEvents(ctx context.Context, exec Execution, input json.RawMessage, onEvent func(Event)) (Result, error) {
	node, err := devtools.Node()
	if err != nil {
		return Result{}, err
	}
	module, err := devtools.NodeModule("aws-local-stepfunctions/build/main.node.esm.js")
	if err != nil {
		return Result{}, err
	}
	waits := map[string]int64{}
	for k, v := range m.WaitOverrides {
		waits[k] = v.Milliseconds()
	}
	retries := map[string]int64{}
	for k, v := range m.RetryOverrides {
		retries[k] = v.Milliseconds()
	}
	req := map[string]any{
		"module": module, "definition": m.Definition, "input": input, "region": m.Region,
		"overrides": map[string]any{"waitTimeOverrides": waits, "retryIntervalOverrides": retries},
		"context":   map[string]any{"Execution": map[string]any{"Id": exec.ARN, "Name": exec.Name}},
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Result{}, err
	}
	return m.node(ctx, node, body, onEvent)
}

// line is one line the runner prints: an event as it happens, or the outcome at the end.
type line struct {
	Event  *Event `json:"event"`
	Result *struct {
		Output json.RawMessage `json:"output"`
		Error  string          `json:"error"`
		Cause  string          `json:"cause"`
	} `json:"result"`
}

func (m *Machine) node(ctx context.Context, node string, request []byte, onEvent func(Event)) (Result, error) {
	cmd := exec.CommandContext(ctx, node, "--input-type=module", "--eval", runner)
	cmd.Stdin = bytes.NewReader(request)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(),
		"AWS_ENDPOINT_URL_LAMBDA="+m.LambdaEndpoint, "AWS_REGION="+m.Region,
		"AWS_ACCESS_KEY_ID=AKIDLOCAL", "AWS_SECRET_ACCESS_KEY=local")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Result{}, err
	}
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("aws-local-stepfunctions: %w", err)
	}
	var res Result
	var ended bool
	var unreadable []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // an event's cause may carry a large error
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			unreadable = append(unreadable, sc.Text())
			continue
		}
		switch {
		case l.Event != nil:
			res.Events = append(res.Events, *l.Event)
			if onEvent != nil {
				onEvent(*l.Event)
			}
		case l.Result != nil:
			res.Output, res.Error, res.Cause, ended = l.Result.Output, l.Result.Error, l.Result.Cause, true
		}
	}
	scanErr := sc.Err()
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("state machine run: %w", ctx.Err())
		}
		return res, fmt.Errorf("aws-local-stepfunctions: %w\n%s", err, strings.TrimSpace(stderr.String()))
	}
	switch {
	case scanErr != nil:
		return res, fmt.Errorf("aws-local-stepfunctions: read its output: %w", scanErr)
	case !ended:
		return res, fmt.Errorf("aws-local-stepfunctions printed no result\nstdout: %s\nstderr: %s", strings.Join(unreadable, "\n"), stderr.String())
	case res.Output == nil && res.Error == "":
		return res, errors.New("aws-local-stepfunctions gave neither an output nor an error")
	}
	return res, nil
}

// History turns the library's events into the Step Functions history events they stand for: states
// entered and exited, and failed tasks. The execution's start and end are localcloud's own; retries
// and catches have no event of their own in Step Functions' history.
func History(events ...Event) []localcloud.HistoryEvent {
	var out []localcloud.HistoryEvent
	for _, ev := range events {
		at := time.UnixMilli(ev.TimestampMs)
		switch {
		case ev.Type == "StateEntered" || ev.Type == "StateExited":
			out = append(out, localcloud.HistoryEvent{Type: ev.StateType + ev.Type, State: ev.State, At: at})
		case ev.Type == "StateFailed" && ev.StateType == "Task":
			out = append(out, localcloud.HistoryEvent{Type: "TaskFailed", At: at, Error: ev.Error, Cause: ev.Cause})
		}
	}
	return out
}

// Runner runs the machine for localcloud's Step Functions: StartExecution there runs the real
// definition here, and a failed execution reports the failing error and cause.
func (m *Machine) Runner() localcloud.ExecutionRunner {
	return func(ctx context.Context, _, executionArn, input string) (string, error) {
		name := executionArn[strings.LastIndex(executionArn, ":")+1:]
		// History is recorded as the states happen, so GetExecutionHistory follows a running
		// execution as it does in Step Functions.
		var recordErr error
		res, err := m.RunWithEvents(ctx, Execution{ARN: executionArn, Name: name}, json.RawMessage(input), func(ev Event) {
			if recordErr == nil {
				recordErr = localcloud.RecordHistory(ctx, History(ev)...)
			}
		})
		if err != nil {
			return "", err
		}
		if recordErr != nil {
			return "", recordErr
		}
		if res.Failed() {
			return "", &localcloud.ExecutionFailure{Name: res.Error, Cause: res.Cause}
		}
		return string(res.Output), nil
	}
}
