// Package sfnlocal runs statemachine/*.asl.json locally with aws-local-stepfunctions (npm) under
// Node.js 22: the definition's DefinitionSubstitutions are applied as CloudFormation would, and its
// Lambda tasks call a local Lambda Invoke API (the lambdahost's, through AWS_ENDPOINT_URL_LAMBDA),
// so the real state machine drives the real function binaries.
//
// It is a local stand-in for Step Functions: nothing deployed imports it.
package sfnlocal

import (
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
// it at all (no Node.js, a broken definition), not for a failed execution.
func (m *Machine) Run(ctx context.Context, exec Execution, input json.RawMessage) (Result, error) {
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
	return m.node(ctx, node, body)
}

func (m *Machine) node(ctx context.Context, node string, request []byte) (Result, error) {
	cmd := exec.CommandContext(ctx, node, "--input-type=module", "--eval", runner)
	cmd.Stdin = bytes.NewReader(request)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(),
		"AWS_ENDPOINT_URL_LAMBDA="+m.LambdaEndpoint, "AWS_REGION="+m.Region,
		"AWS_ACCESS_KEY_ID=AKIDLOCAL", "AWS_SECRET_ACCESS_KEY=local")
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("state machine run: %w", ctx.Err())
		}
		return Result{}, fmt.Errorf("aws-local-stepfunctions: %w\n%s", err, strings.TrimSpace(stderr.String()))
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return Result{}, fmt.Errorf("aws-local-stepfunctions printed no result (%v)\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if res.Output == nil && res.Error == "" {
		return res, errors.New("aws-local-stepfunctions gave neither an output nor an error")
	}
	return res, nil
}

// history turns the library's events into the Step Functions history events they stand for: states
// entered and exited, and failed tasks. The execution's start and end are localcloud's own; retries
// and catches have no event of their own in Step Functions' history.
func history(events []Event) []localcloud.HistoryEvent {
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
		res, err := m.Run(ctx, Execution{ARN: executionArn, Name: name}, json.RawMessage(input))
		if err != nil {
			return "", err
		}
		if err := localcloud.RecordHistory(ctx, history(res.Events)...); err != nil {
			return "", err
		}
		if res.Failed() {
			return "", &localcloud.ExecutionFailure{Name: res.Error, Cause: res.Cause}
		}
		return string(res.Output), nil
	}
}
