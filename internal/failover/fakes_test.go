package failover_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"time"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

const (
	east = "arn:aws:rds:us-east-1:111122223333:cluster:todo-east"
	west = "arn:aws:rds:us-west-2:111122223333:cluster:todo-west"
)

// topo is a global cluster whose writer is writer, with an optional FailoverState status.
func topo(writer, failoverStatus string) failover.Topology {
	t := failover.Topology{GlobalClusterID: "todo-global", Members: []failover.Member{
		{ClusterARN: east, IsWriter: writer == east}, {ClusterARN: west, IsWriter: writer == west},
	}}
	if failoverStatus != "" {
		t.Failover = &failover.FailoverInProgress{Status: failoverStatus, From: east, To: west}
	}
	return t
}

// fakeDB is a GlobalDatabase whose answers the test sets and whose promotions it records.
type fakeDB struct {
	mu         sync.Mutex
	topology   failover.Topology
	describe   func() (failover.Topology, error)
	status     string
	lag        time.Duration
	lagKnown   bool
	promoteErr error
	calls      []string
}

func (f *fakeDB) Describe(context.Context) (failover.Topology, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "describe")
	describe, t := f.describe, f.topology
	f.mu.Unlock()
	if describe != nil {
		return describe()
	}
	return t, nil
}

func (f *fakeDB) ClusterStatus(context.Context, string) (string, error) {
	if f.status == "" {
		return "available", nil
	}
	return f.status, nil
}

func (f *fakeDB) Switchover(_ context.Context, target string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "switchover "+target)
	return f.promoteErr
}

func (f *fakeDB) Failover(_ context.Context, target string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "failover allowDataLoss "+target)
	return f.promoteErr
}

func (f *fakeDB) ReplicationLag(context.Context, string) (time.Duration, bool, error) {
	return f.lag, f.lagKnown, nil
}

func (f *fakeDB) promotions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p []string
	for _, c := range f.calls {
		if c != "describe" {
			p = append(p, c)
		}
	}
	return p
}

// fakeProber answers Health and Canary per base URL.
type fakeProber struct {
	health map[string]failover.Health
	canary map[string]failover.Canary
}

func (f *fakeProber) Health(_ context.Context, url string) (failover.Health, error) {
	h, ok := f.health[url]
	if !ok {
		return failover.Health{}, errors.New("connection refused")
	}
	return h, nil
}

func (f *fakeProber) Canary(_ context.Context, url, _ string) (failover.Canary, error) {
	c, ok := f.canary[url]
	if !ok {
		return failover.Canary{}, errors.New("connection refused")
	}
	return c, nil
}

// fakeTraffic records switches and, like both adapters, refuses a change with an older epoch.
type fakeTraffic struct {
	current  failover.TrafficState
	err      error
	switches []string
}

func (f *fakeTraffic) Current(context.Context) (failover.TrafficState, error) { return f.current, nil }
func (f *fakeTraffic) SwitchTo(_ context.Context, target string, epoch uint64) error {
	if f.err != nil {
		return f.err
	}
	if !f.current.Supersedes(target, epoch) {
		return &failover.StaleEpochError{Target: target, Epoch: epoch, Current: f.current}
	}
	f.switches = append(f.switches, target)
	f.current = failover.TrafficState{Target: target, Epoch: epoch}
	return nil
}

// fixedLease is a LeaseReader with a fixed answer.
type fixedLease struct {
	lease failover.Lease
	err   error
}

func (f *fixedLease) CurrentLease(context.Context) (failover.Lease, error) { return f.lease, f.err }

type notice struct{ subject, message string }

type fakeNotifier struct{ sent []notice }

func (f *fakeNotifier) Notify(_ context.Context, subject, message string) error {
	f.sent = append(f.sent, notice{subject, message})
	return nil
}

// fakeExecutions follows Standard workflows' StartExecution rules: same name and input while
// running returns the same ARN; a closed execution or another input is ExecutionAlreadyExists.
type fakeExecutions struct {
	mu      sync.Mutex
	byName  map[string]string
	started []failover.ExecutionSummary
	closed  bool
	// Now stamps new executions; nil uses the wall clock.
	Now func() time.Time
}

func (f *fakeExecutions) Start(_ context.Context, name string, input []byte) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byName == nil {
		f.byName = map[string]string{}
	}
	if prev, ok := f.byName[name]; ok {
		if prev != string(input) || f.closed {
			return "", &failover.ExecutionExistsError{Name: name, Err: errors.New("ExecutionAlreadyExists")}
		}
		return "arn:aws:states:us-west-2:111122223333:execution:failover:" + name, nil
	}
	f.byName[name] = string(input)
	arn := "arn:aws:states:us-west-2:111122223333:execution:failover:" + name
	f.started = append(f.started, failover.ExecutionSummary{Name: name, ARN: arn, Status: "RUNNING", StartedAt: f.startedAt()})
	return arn, nil
}

func (f *fakeExecutions) startedAt() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Running lists the executions started and not closed.
func (f *fakeExecutions) Running(context.Context) ([]failover.ExecutionSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, nil
	}
	var res []failover.ExecutionSummary
	for _, e := range f.started {
		if e.Status == "RUNNING" {
			res = append(res, e)
		}
	}
	return res, nil
}

func (f *fakeExecutions) StartedSince(_ context.Context, since time.Time) ([]failover.ExecutionSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var res []failover.ExecutionSummary
	for _, e := range f.started {
		if !e.StartedAt.Before(since) {
			res = append(res, e)
		}
	}
	return res, nil
}

// errorType is the name the Lambda runtime reports for err, which the state machine matches.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// fixedClock returns a clock that advances by step on every reading.
func fixedClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := now
		now = now.Add(step)
		return t
	}
}
