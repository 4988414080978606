// Command echo is a test function for the local Lambda host: its event says how to behave.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Echo  any      `json:"echo"`
	Sleep string   `json:"sleep"` // a time.Duration to sleep before answering
	Panic string   `json:"panic"`
	Fail  string   `json:"fail"` // returned as a StaleReadError
	Exit  int      `json:"exit"` // exit with this status without answering
	Env   []string `json:"env"`
	Big   int      `json:"big"` // answer with a string of this many bytes
	Log   string   `json:"log"` // written to stderr, as a function logs
}

type reply struct {
	Echo       any               `json:"echo"`
	PID        int               `json:"pid"`
	RequestID  string            `json:"requestId"`
	ARN        string            `json:"arn"`
	DeadlineMs int64             `json:"deadlineMs"`
	Env        map[string]string `json:"env"`
}

// StaleReadError is a named error type: its name must reach the caller as errorType.
type StaleReadError struct{ Reason string }

func (e *StaleReadError) Error() string { return "stale read: " + e.Reason }

func handle(ctx context.Context, ev event) (reply, error) {
	if ev.Log != "" {
		fmt.Fprintln(os.Stderr, ev.Log)
	}
	if ev.Sleep != "" {
		d, err := time.ParseDuration(ev.Sleep)
		if err != nil {
			return reply{}, err
		}
		time.Sleep(d)
	}
	switch {
	case ev.Big > 0:
		return reply{Echo: strings.Repeat("x", ev.Big)}, nil
	case ev.Panic != "":
		panic(ev.Panic)
	case ev.Fail != "":
		return reply{}, &StaleReadError{Reason: ev.Fail}
	case ev.Exit != 0:
		os.Exit(ev.Exit)
	}
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		return reply{}, errors.New("no Lambda context")
	}
	deadline, _ := ctx.Deadline()
	r := reply{Echo: ev.Echo, PID: os.Getpid(), RequestID: lc.AwsRequestID, ARN: lc.InvokedFunctionArn,
		DeadlineMs: deadline.UnixMilli(), Env: map[string]string{}}
	for _, k := range ev.Env {
		r.Env[k] = os.Getenv(k)
	}
	return r, nil
}

func main() {
	// INIT_SLEEP stalls the init phase, as a function stuck connecting to a dependency does.
	if d, err := time.ParseDuration(os.Getenv("INIT_SLEEP")); err == nil {
		time.Sleep(d)
	}
	lambda.Start(handle)
}
