package localcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ExecutionRunner runs one Step Functions execution to completion: it returns the execution's
// output, or an error that makes it FAILED (an *ExecutionFailure sets error and cause; any other
// error shows as States.Runtime with its text as cause). ctx ends when the emulator closes, which
// leaves the execution ABORTED.
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
	default:
		err = errorf(http.StatusBadRequest, "UnknownOperationException", "localcloud emulates StartExecution, DescribeExecution and ListExecutions, not %s", op)
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
	f.executions[arn] = e
	f.order = append(f.order, e)
	f.s.goBackground(func(ctx context.Context) {
		out, err := run(ctx, smArn, arn, input)
		f.mu.Lock()
		defer f.mu.Unlock()
		var failure *ExecutionFailure
		switch {
		case ctx.Err() != nil:
			e.status = ExecutionAborted
		case errors.As(err, &failure):
			e.status, e.errName, e.cause = ExecutionFailed, failure.Name, failure.Cause
		case err != nil:
			e.status, e.errName, e.cause = ExecutionFailed, "States.Runtime", err.Error()
		default:
			e.status, e.output = ExecutionSucceeded, out
		}
		e.stop = time.Now().UTC()
		close(e.done)
	})
	return map[string]any{"executionArn": arn, "startDate": epochSeconds(e.start)}, nil
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
	}
	return m, nil
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
