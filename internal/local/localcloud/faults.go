package localcloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Operation names for fault injection and call counts are IAM action names:
// "rds:SwitchoverGlobalCluster", "cloudwatch:PutMetricData", "states:StartExecution",
// "cloudfront:UpdateDistribution", "route53:ChangeResourceRecordSets", "sns:Publish".

type opFaults struct {
	throttle int
	fail     []*APIError
	delay    time.Duration
}

type faults struct {
	mu    sync.Mutex
	ops   map[string]*opFaults
	calls map[string]int
	seq   uint64
}

func (f *faults) init() {
	f.ops = map[string]*opFaults{}
	f.calls = map[string]int{}
}

func (f *faults) nextSeq() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return f.seq
}

func (f *faults) op(name string) *opFaults {
	o := f.ops[name]
	if o == nil {
		o = &opFaults{}
		f.ops[name] = o
	}
	return o
}

// ThrottleNext makes the next n calls of op fail with the service's throttling error, which the
// SDK's default retryer retries.
func (s *Server) ThrottleNext(op string, n int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.op(op).throttle += n
}

// FailNext makes the next call of op fail with the given HTTP status and error code (for example
// 400 "InvalidGlobalClusterStateFault" or 500 "InternalFailure"). Calls queue up: each failure is
// used once, in order.
func (s *Server) FailNext(op string, status int, code, message string) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	o := s.faults.op(op)
	o.fail = append(o.fail, &APIError{Status: status, Code: code, Message: message})
}

// DelayCalls holds every later call of op for d before serving it; zero removes the delay.
func (s *Server) DelayCalls(op string, d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.op(op).delay = d
}

// ClearFaults removes every injected throttle, failure and delay.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.ops = map[string]*opFaults{}
}

// Calls returns how many requests for op reached the emulator, including those failed by
// injected faults (so a throttled-then-retried call counts each attempt).
func (s *Server) Calls(op string) int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.calls[op]
}

// admit counts a call of op, applies any injected delay and returns the injected error, if any.
// throttle builds the service's own throttling error.
func (s *Server) admit(r *request, op string, throttle func() *APIError) *APIError {
	s.faults.mu.Lock()
	s.faults.calls[op]++
	var delay time.Duration
	var injected *APIError
	if o := s.faults.ops[op]; o != nil {
		delay = o.delay
		switch {
		case o.throttle > 0:
			o.throttle--
			injected = throttle()
		case len(o.fail) > 0:
			injected = o.fail[0]
			o.fail = o.fail[1:]
		}
	}
	s.faults.mu.Unlock()
	if delay > 0 && !sleep(r.Context(), delay) {
		return errorf(http.StatusServiceUnavailable, "RequestCanceled", "request canceled during injected delay")
	}
	return injected
}

const adminPrefix = "/_localcloud/"

// adminFault is the body of POST /_localcloud/faults, for tools that drive the emulator over HTTP
// (the drill's scenarios): {"op":"rds:SwitchoverGlobalCluster","throttle":2} and so on.
type adminFault struct {
	Op         string `json:"op"`
	Throttle   int    `json:"throttle"`
	FailStatus int    `json:"failStatus"`
	FailCode   string `json:"failCode"`
	Message    string `json:"message"`
	DelayMs    int    `json:"delayMs"`
	Clear      bool   `json:"clear"`
}

// adminRegion is the body of POST /_localcloud/regions: {"region":"us-east-1","down":true}.
type adminRegion struct {
	Region string `json:"region"`
	Down   bool   `json:"down"`
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "admin endpoints take POST with a JSON body", http.StatusMethodNotAllowed)
		return
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	switch strings.TrimPrefix(r.URL.Path, adminPrefix) {
	case "faults":
		var f adminFault
		if err := dec.Decode(&f); err != nil {
			http.Error(w, "bad fault: "+err.Error()+`; want {"op":"rds:SwitchoverGlobalCluster","throttle":N | "failStatus":400,"failCode":"X" | "delayMs":N | "clear":true}`, http.StatusBadRequest)
			return
		}
		if f.Clear {
			s.ClearFaults()
			break
		}
		if !strings.Contains(f.Op, ":") {
			http.Error(w, fmt.Sprintf("bad fault: op %q must be service:Operation, e.g. rds:SwitchoverGlobalCluster", f.Op), http.StatusBadRequest)
			return
		}
		if f.Throttle > 0 {
			s.ThrottleNext(f.Op, f.Throttle)
		}
		if f.FailCode != "" {
			if f.FailStatus == 0 {
				f.FailStatus = http.StatusBadRequest
			}
			s.FailNext(f.Op, f.FailStatus, f.FailCode, f.Message)
		}
		if f.DelayMs > 0 {
			s.DelayCalls(f.Op, time.Duration(f.DelayMs)*time.Millisecond)
		}
	case "regions":
		var reg adminRegion
		if err := dec.Decode(&reg); err != nil || reg.Region == "" {
			http.Error(w, `bad region change: want {"region":"us-east-1","down":true}`, http.StatusBadRequest)
			return
		}
		s.SetRegionDown(reg.Region, reg.Down)
	default:
		http.Error(w, "unknown admin endpoint; use /_localcloud/faults or /_localcloud/regions", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
