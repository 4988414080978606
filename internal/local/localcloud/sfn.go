package localcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ExecutionRunner runs one Step Functions execution to completion: it returns the execution's
// output, or an error that makes it FAILED (an *ExecutionFailure sets error and cause; any other
// error shows as States.Runtime with its text as cause). ctx ends when the emulator closes or
// StopExecution stops the execution, either of which leaves it ABORTED.
type ExecutionRunner func(ctx context.Context, stateMachineArn, executionArn, input string) (output string, err error)

// ExecutionFailure is the error name and cause a failed execution reports.
type ExecutionFailure struct {
	Name  string
	Cause string
}

func (f *ExecutionFailure) Error() string { return f.Name + ": " + f.Cause }

// Execution statuses.
const (
	ExecutionRunning   = "RUNNING"
	ExecutionSucceeded = "SUCCEEDED"
	ExecutionFailed    = "FAILED"
	ExecutionAborted   = "ABORTED"
)

type execution struct {
	arn, stateMachine, name, input string
	status, output, errName, cause string
	start, stop                    time.Time
	done                           chan struct{}
	// cancel ends the runner's context; stopping says StopExecution asked for it.
	cancel   context.CancelFunc
	stopping bool
	// history is what GetExecutionHistory serves; guarded by sfnService.mu.
	history []map[string]any
}

type sfnService struct {
	s *Server

	mu            sync.Mutex
	stateMachines map[string]ExecutionRunner
	executions    map[string]*execution
	order         []*execution // newest last
}

func newSFNService(s *Server) *sfnService {
	return &sfnService{s: s, stateMachines: map[string]ExecutionRunner{}, executions: map[string]*execution{}}
}

// StateMachineARN builds a state machine ARN in the emulator's account.
func (s *Server) StateMachineARN(region, name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", region, s.account, name)
}

// AddStateMachine creates a standard state machine whose executions run is.
func (s *Server) AddStateMachine(arn string, run ExecutionRunner) {
	s.sfn.mu.Lock()
	defer s.sfn.mu.Unlock()
	s.sfn.stateMachines[arn] = run
}

// WaitExecution blocks until the execution ends or ctx does, and returns its status.
func (s *Server) WaitExecution(ctx context.Context, executionArn string) (string, error) {
	s.sfn.mu.Lock()
	e, ok := s.sfn.executions[executionArn]
	s.sfn.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("localcloud: no execution %s", executionArn)
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	s.sfn.mu.Lock()
	defer s.sfn.mu.Unlock()
	return e.status, nil
}

func (f *sfnService) serve(w http.ResponseWriter, req *request) {
	requestID := f.s.requestID()
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	if e := f.s.admit(req, "states:"+op, func() *APIError {
		return errorf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	}); e != nil {
		writeJSONError(w, requestID, e)
		return
	}
	var in map[string]any
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		writeJSONError(w, requestID, errorf(http.StatusBadRequest, "SerializationException", "request body is not a JSON object: %v", err))
		return
	}
	var out any
	var err error
	switch op {
	case "StartExecution":
		out, err = f.start(req, in)
	case "DescribeExecution":
		out, err = f.describe(in)
	case "ListExecutions":
		out, err = f.list(req, in)
	case "GetExecutionHistory":
		out, err = f.history(in)
	case "StopExecution":
		out, err = f.stopExecution(in)
	default:
		err = errorf(http.StatusBadRequest, "UnknownOperationException", "localcloud emulates StartExecution, DescribeExecution, ListExecutions, GetExecutionHistory and StopExecution, not %s", op)
	}
	if err != nil {
		writeJSONError(w, requestID, asAPIError(err))
		return
	}
	body, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.Write(body)
}

// writeJSONError writes an AWS JSON 1.0 error: X-Amzn-ErrorType plus {"__type", "message"}.
func writeJSONError(w http.ResponseWriter, requestID string, e *APIError) {
	writeAWSJSONError(w, "application/x-amz-json-1.0", requestID, e)
}

// writeAWSJSONError writes an error in the AWS JSON protocols (1.0 and 1.1 differ in content type).
func writeAWSJSONError(w http.ResponseWriter, contentType, requestID string, e *APIError) {
	body, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(e.Status)
	w.Write(body)
}

func jsonStr(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (f *sfnService) start(req *request, in map[string]any) (any, error) {
	smArn := jsonStr(in, "stateMachineArn")
	name := jsonStr(in, "name")
	input := "{}"
	if v, ok := in["input"].(string); ok {
		input = v
	}
	if !json.Valid([]byte(input)) {
		return nil, errorf(http.StatusBadRequest, "InvalidExecutionInput", "Invalid State Machine Execution Input: the input is not valid JSON")
	}
	if name == "" {
		name = newUUID()
	}
	if len(name) > 80 || strings.ContainsAny(name, " <>{}[]?*\"#%\\^|~`$&,;:/") {
		return nil, errorf(http.StatusBadRequest, "InvalidName", "Invalid Name: '%s' (1-80 characters, no whitespace, brackets, wildcards or punctuation)", name)
	}
	p := strings.Split(smArn, ":")
	if len(p) != 7 || p[2] != "states" || p[5] != "stateMachine" {
		return nil, errorf(http.StatusBadRequest, "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", smArn)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	run, ok := f.stateMachines[smArn]
	if !ok || p[3] != req.region {
		return nil, errorf(http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", smArn)
	}
	arn := fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", p[3], p[4], p[6], name)
	if e, ok := f.executions[arn]; ok {
		// Standard workflows: the same name and input while running is the same request again.
		if e.status == ExecutionRunning && e.input == input {
			return map[string]any{"executionArn": e.arn, "startDate": epochSeconds(e.start)}, nil
		}
		return nil, errorf(http.StatusBadRequest, "ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
	}
	e := &execution{arn: arn, stateMachine: smArn, name: name, input: input, status: ExecutionRunning, start: time.Now().UTC(), done: make(chan struct{})}
	e.addEvent("ExecutionStarted", e.start, "executionStartedEventDetails", map[string]any{"input": input, "inputDetails": map[string]bool{"truncated": false}})
	f.executions[arn] = e
	f.order = append(f.order, e)
	f.statusChanged(e)
	f.s.goBackground(func(ctx context.Context) {
		runCtx, cancel := context.WithCancel(context.WithValue(ctx, runningKey{}, runningExecution{f, e}))
		f.mu.Lock()
		e.cancel = cancel
		if e.stopping { // stopped before it ran
			cancel()
		}
		f.mu.Unlock()
		out, err := run(runCtx, smArn, arn, input)
		cancel()
		f.mu.Lock()
		defer f.mu.Unlock()
		var failure *ExecutionFailure
		switch {
		case ctx.Err() != nil || e.stopping:
			e.status = ExecutionAborted
		case errors.As(err, &failure):
			e.status, e.errName, e.cause = ExecutionFailed, failure.Name, failure.Cause
		case err != nil:
			e.status, e.errName, e.cause = ExecutionFailed, "States.Runtime", err.Error()
		default:
			e.status, e.output = ExecutionSucceeded, out
		}
		e.stop = time.Now().UTC()
		switch e.status {
		case ExecutionSucceeded:
			e.addEvent("ExecutionSucceeded", e.stop, "executionSucceededEventDetails", map[string]any{"output": e.output, "outputDetails": map[string]bool{"truncated": false}})
		case ExecutionFailed:
			e.addEvent("ExecutionFailed", e.stop, "executionFailedEventDetails", map[string]any{"error": e.errName, "cause": e.cause})
		case ExecutionAborted:
			details := map[string]any{}
			if e.errName != "" {
				details["error"] = e.errName
			}
			if e.cause != "" {
				details["cause"] = e.cause
			}
			e.addEvent("ExecutionAborted", e.stop, "executionAbortedEventDetails", details)
		}
		f.statusChanged(e)
		close(e.done)
	})
	return map[string]any{"executionArn": arn, "startDate": epochSeconds(e.start)}, nil
}

// statusChanged puts the "Step Functions Execution Status Change" event of e's current status on
// its region's default event bus, as Step Functions does for a standard workflow. It must be
// called with f.mu held.
func (f *sfnService) statusChanged(e *execution) {
	region := strings.Split(e.arn, ":")[3]
	detail := e.summary()
	// The event carries its dates in epoch milliseconds, where the API answers in seconds.
	detail["startDate"], detail["stopDate"] = e.start.UnixMilli(), nil
	if !e.stop.IsZero() {
		detail["stopDate"] = e.stop.UnixMilli()
	}
	detail["input"] = e.input
	detail["inputDetails"] = map[string]bool{"included": true}
	detail["output"], detail["error"], detail["cause"] = nil, nil, nil
	switch e.status {
	case ExecutionSucceeded:
		detail["output"] = e.output
	case ExecutionFailed, ExecutionAborted:
		if e.errName != "" || e.cause != "" {
			detail["error"], detail["cause"] = e.errName, e.cause
		}
	}
	f.s.putEvent(region, "aws.states", "Step Functions Execution Status Change", []string{e.arn}, detail)
}

// summary must be called with f.mu held.
func (e *execution) summary() map[string]any {
	m := map[string]any{
		"executionArn": e.arn, "stateMachineArn": e.stateMachine, "name": e.name,
		"status": e.status, "startDate": epochSeconds(e.start),
	}
	if !e.stop.IsZero() {
		m["stopDate"] = epochSeconds(e.stop)
	}
	return m
}

func (f *sfnService) describe(in map[string]any) (any, error) {
	arn := jsonStr(in, "executionArn")
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.executions[arn]
	if !ok {
		return nil, errorf(http.StatusBadRequest, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
	}
	m := e.summary()
	m["input"] = e.input
	m["inputDetails"] = map[string]bool{"included": true}
	switch e.status {
	case ExecutionSucceeded:
		m["output"] = e.output
		m["outputDetails"] = map[string]bool{"included": true}
	case ExecutionFailed:
		m["error"], m["cause"] = e.errName, e.cause
	case ExecutionAborted:
		if e.errName != "" || e.cause != "" {
			m["error"], m["cause"] = e.errName, e.cause
		}
	}
	return m, nil
}

// stopExecution ends a running execution ABORTED, as StopExecution does: the runner's context is
// cancelled, so the state it is in never finishes (a Lambda task it invoked may still run to the
// end, as in AWS). Stopping an execution that has ended changes nothing.
func (f *sfnService) stopExecution(in map[string]any) (any, error) {
	arn := jsonStr(in, "executionArn")
	errName, cause := jsonStr(in, "error"), jsonStr(in, "cause")
	switch {
	case arn == "" || len(arn) > 256:
		return nil, errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'executionArn' failed to satisfy constraint: Member must have length between 1 and 256")
	case len(errName) > 256:
		return nil, errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'error' failed to satisfy constraint: Member must have length less than or equal to 256")
	case len(cause) > 32768:
		return nil, errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to 32768")
	}
	if p := strings.Split(arn, ":"); len(p) != 8 || p[2] != "states" || p[5] != "execution" {
		return nil, errorf(http.StatusBadRequest, "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	f.mu.Lock()
	e, ok := f.executions[arn]
	if !ok {
		f.mu.Unlock()
		return nil, errorf(http.StatusBadRequest, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
	}
	if e.status != ExecutionRunning {
		defer f.mu.Unlock()
		return map[string]any{"stopDate": epochSeconds(e.stop)}, nil
	}
	if !e.stopping {
		e.stopping, e.errName, e.cause = true, errName, cause
		if e.cancel != nil {
			e.cancel()
		}
	}
	f.mu.Unlock()
	<-e.done // the runner has returned: the execution is ABORTED from here on
	f.mu.Lock()
	defer f.mu.Unlock()
	return map[string]any{"stopDate": epochSeconds(e.stop)}, nil
}

func (f *sfnService) list(req *request, in map[string]any) (any, error) {
	smArn := jsonStr(in, "stateMachineArn")
	filter := jsonStr(in, "statusFilter")
	maxResults := 100
	if n, ok := in["maxResults"].(float64); ok && n > 0 {
		maxResults = min(int(n), 1000)
	}
	offset := 0
	if tok := jsonStr(in, "nextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 {
			return nil, errorf(http.StatusBadRequest, "InvalidToken", "Invalid Token: '%s'", tok)
		}
		offset = n
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.stateMachines[smArn]; !ok || !strings.Contains(smArn, ":"+req.region+":") {
		return nil, errorf(http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", smArn)
	}
	var match []*execution
	for _, e := range f.order {
		if e.stateMachine == smArn && (filter == "" || e.status == filter) {
			match = append(match, e)
		}
	}
	// Newest first, as Step Functions lists them.
	for i, j := 0, len(match)-1; i < j; i, j = i+1, j-1 {
		match[i], match[j] = match[j], match[i]
	}
	out := map[string]any{}
	page := []map[string]any{}
	for i := offset; i < len(match) && len(page) < maxResults; i++ {
		page = append(page, match[i].summary())
	}
	out["executions"] = page
	if offset+len(page) < len(match) {
		out["nextToken"] = strconv.Itoa(offset + len(page))
	}
	return out, nil
}

// HistoryEvent is one event a running execution adds to its history: a state entered or exited,
// or a task that failed. ExecutionStarted and the execution's end are recorded by the emulator.
type HistoryEvent struct {
	// Type is Step Functions' event type: TaskStateEntered, ChoiceStateExited, WaitStateEntered,
	// TaskFailed, ... (any <Kind>StateEntered or <Kind>StateExited of the ASL's state kinds).
	Type string
	At   time.Time
	// State is the state's name, for the StateEntered and StateExited events.
	State string
	// Data is the state's input (entered) or output (exited).
	Data string
	// Error and Cause describe a TaskFailed event.
	Error, Cause string
}

type runningKey struct{}

type runningExecution struct {
	f *sfnService
	e *execution
}

var stateKinds = []string{"Task", "Choice", "Wait", "Pass", "Succeed", "Fail", "Parallel", "Map"}

// RecordHistory adds events to the history of the execution whose ExecutionRunner received ctx;
// GetExecutionHistory serves them as they come. It refuses an event type Step Functions does not
// have, and a ctx that is not an execution's.
func RecordHistory(ctx context.Context, events ...HistoryEvent) error {
	run, ok := ctx.Value(runningKey{}).(runningExecution)
	if !ok {
		return errors.New("localcloud: RecordHistory outside an execution: pass the context the ExecutionRunner received")
	}
	run.f.mu.Lock()
	defer run.f.mu.Unlock()
	for _, ev := range events {
		at := ev.At
		if at.IsZero() {
			at = time.Now()
		}
		switch {
		case ev.Type == "TaskFailed":
			run.e.addEvent(ev.Type, at, "taskFailedEventDetails", map[string]any{"resourceType": "lambda", "resource": "invoke", "error": ev.Error, "cause": ev.Cause})
		case strings.HasSuffix(ev.Type, "StateEntered") && slices.Contains(stateKinds, strings.TrimSuffix(ev.Type, "StateEntered")):
			run.e.addEvent(ev.Type, at, "stateEnteredEventDetails", map[string]any{"name": ev.State, "input": ev.Data})
		case strings.HasSuffix(ev.Type, "StateExited") && slices.Contains(stateKinds, strings.TrimSuffix(ev.Type, "StateExited")):
			run.e.addEvent(ev.Type, at, "stateExitedEventDetails", map[string]any{"name": ev.State, "output": ev.Data})
		default:
			return fmt.Errorf("localcloud: %q is not a history event type a running execution adds", ev.Type)
		}
	}
	return nil
}

// addEvent must be called with sfnService.mu held (or before the execution is shared).
func (e *execution) addEvent(typ string, at time.Time, detailsKey string, details map[string]any) {
	id := len(e.history) + 1
	e.history = append(e.history, map[string]any{"timestamp": epochSeconds(at), "type": typ, "id": id, "previousEventId": id - 1, detailsKey: details})
}

// history serves GetExecutionHistory: pages of at most maxResults events (default 100, at most
// 1000), oldest first unless reverseOrder, with a nextToken while more remain. A token is tied to
// the execution and the order it was issued for, as Step Functions asks the other arguments to be
// kept unchanged between pages.
func (f *sfnService) history(in map[string]any) (any, error) {
	arn := jsonStr(in, "executionArn")
	if p := strings.Split(arn, ":"); len(p) != 8 || p[2] != "states" || p[5] != "execution" {
		return nil, errorf(http.StatusBadRequest, "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	maxResults := 100
	if v, ok := in["maxResults"].(float64); ok {
		switch {
		case v < 0 || v > 1000:
			return nil, errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value '%v' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", v)
		case v > 0:
			maxResults = int(v)
		}
	}
	reverse, _ := in["reverseOrder"].(bool)
	includeData, ok := in["includeExecutionData"].(bool)
	if !ok {
		includeData = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.executions[arn]
	if !ok {
		return nil, errorf(http.StatusBadRequest, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
	}
	offset := 0
	if tok := jsonStr(in, "nextToken"); tok != "" {
		prefix := fmt.Sprintf("%s|%t|", e.name, reverse)
		n, err := strconv.Atoi(strings.TrimPrefix(tok, prefix))
		if !strings.HasPrefix(tok, prefix) || err != nil || n < 0 || n > len(e.history) {
			return nil, errorf(http.StatusBadRequest, "InvalidToken", "Invalid Token: '%s'", tok)
		}
		offset = n
	}
	events := slices.Clone(e.history)
	if reverse {
		slices.Reverse(events)
	}
	page := []map[string]any{}
	for i := offset; i < len(events) && len(page) < maxResults; i++ {
		ev := events[i]
		if !includeData {
			ev = withoutData(ev)
		}
		page = append(page, ev)
	}
	out := map[string]any{"events": page}
	if offset+len(page) < len(events) {
		out["nextToken"] = fmt.Sprintf("%s|%t|%d", e.name, reverse, offset+len(page))
	}
	return out, nil
}

// withoutData drops the inputs and outputs from an event, as includeExecutionData=false does.
func withoutData(ev map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range ev {
		details, ok := v.(map[string]any)
		if !ok || !strings.HasSuffix(k, "EventDetails") {
			out[k] = v
			continue
		}
		d := map[string]any{}
		for dk, dv := range details {
			if dk != "input" && dk != "output" {
				d[dk] = dv
			}
		}
		out[k] = d
	}
	return out
}
