// Package migratehandler is the migrate function's Lambda handler. It accepts a direct invocation
// {"action":"migrate"} and answers with the schema.Result, and a CloudFormation custom resource event,
// for which it migrates on Create and Update, does nothing on Delete, and always PUTs SUCCESS or FAILED
// to the event's ResponseURL so that a stack never waits an hour for a reply that will not come. On a
// schedule, {"action":"expire-idempotency-keys"} sweeps idempotency records past their 24 hours.
package migratehandler

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/switchyard-dr/switchyard/internal/schema"
)

// PhysicalResourceID names the schema resource when CloudFormation has not named it yet. It never
// changes, so an Update never makes CloudFormation delete the "old" schema.
const PhysicalResourceID = "switchyard-schema"

// Margins kept before the invocation's deadline: enough to PUT the custom resource response after a
// migration that ran out of time.
const (
	responseMargin  = 5 * time.Second
	responseTimeout = 4 * time.Second
	maxReasonBytes  = 1024 // the whole response must stay under CloudFormation's 4 KB
)

// InvalidInputError is returned for an event that is neither {"action":"migrate"} nor a custom
// resource event. Its type name is the errorType Step Functions and callers see.
type InvalidInputError struct{ Detail string }

func (e *InvalidInputError) Error() string { return e.Detail }

// MigrationError is returned when a direct invocation's migration fails.
type MigrationError struct{ Err error }

func (e *MigrationError) Error() string { return e.Err.Error() }
func (e *MigrationError) Unwrap() error { return e.Err }

// ResponseError is returned when the custom resource response could not be delivered.
type ResponseError struct{ Err error }

func (e *ResponseError) Error() string { return "send the custom resource response: " + e.Err.Error() }
func (e *ResponseError) Unwrap() error { return e.Err }

// Handler runs migrations for direct and CloudFormation invocations.
type Handler struct {
	db      *sql.DB
	client  *http.Client
	log     *slog.Logger
	appUser func(context.Context) (schema.AppUser, error)
}

// New returns a Handler migrating db; client sends custom resource responses (nil: a default client);
// log gets one line per invocation (nil discards).
func New(db *sql.DB, client *http.Client, log *slog.Logger) *Handler {
	if client == nil {
		client = &http.Client{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{db: db, client: client, log: log}
}

// WithAppUser makes every run also create the application's database user, or update its password,
// from what users returns (nil: no user is provisioned).
func (h *Handler) WithAppUser(users func(context.Context) (schema.AppUser, error)) *Handler {
	h.appUser = users
	return h
}

// run applies the migrations, then provisions the application user when one is configured.
func (h *Handler) run(ctx context.Context) (schema.Result, error) {
	res, err := schema.Migrate(ctx, h.db)
	if err != nil || h.appUser == nil {
		return res, err
	}
	u, err := h.appUser(ctx)
	if err == nil {
		err = schema.EnsureAppUser(ctx, h.db, u)
	}
	return res, err
}

// input covers both shapes of event.
type input struct {
	Action string `json:"action"`
	cfn.Event
}

// ExpireAction is the scheduled invocation that sweeps idempotency records past their 24 hours.
const ExpireAction = "expire-idempotency-keys"

// Handle is the Lambda entry point: {"action":"migrate"} answers a schema.Result,
// {"action":"expire-idempotency-keys"} a schema.Sweep, a custom resource event nothing.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var in input
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &InvalidInputError{Detail: "the event is not a JSON object: send {\"action\":\"migrate\"} or a CloudFormation custom resource event"}
	}
	if in.RequestType != "" {
		return nil, h.customResource(ctx, in.Event)
	}
	if in.Action == ExpireAction {
		return h.expire(ctx)
	}
	if in.Action != "migrate" {
		return nil, &InvalidInputError{Detail: fmt.Sprintf("unknown action %q: want \"migrate\" or %q", in.Action, ExpireAction)}
	}
	start := time.Now()
	res, err := h.run(ctx)
	h.logRun(ctx, "direct", res, err, start)
	if err != nil {
		return nil, &MigrationError{Err: err}
	}
	return &res, nil
}

func (h *Handler) expire(ctx context.Context) (*schema.Sweep, error) {
	start := time.Now()
	sw, err := schema.ExpireIdempotencyKeys(ctx, h.db, start)
	attrs := []slog.Attr{slog.Int64("deleted", sw.Deleted), slog.String("skipped", sw.Skipped),
		slog.Float64("latencyMs", float64(time.Since(start).Microseconds())/1000)}
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "expire idempotency keys", append(attrs, slog.String("error", err.Error()))...)
		return nil, &MigrationError{Err: err}
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "expire idempotency keys", attrs...)
	return &sw, nil
}

func (h *Handler) logRun(ctx context.Context, trigger string, res schema.Result, err error, start time.Time) {
	attrs := []slog.Attr{
		slog.String("trigger", trigger),
		slog.Any("applied", res.Applied),
		slog.Int("version", res.Version),
		slog.Float64("latencyMs", float64(time.Since(start).Microseconds())/1000),
	}
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "migrate", append(attrs, slog.String("error", err.Error()))...)
		return
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "migrate", attrs...)
}

// cfnResponse is the body CloudFormation expects at ResponseURL.
type cfnResponse struct {
	Status             string         `json:"Status"`
	Reason             string         `json:"Reason,omitempty"`
	PhysicalResourceID string         `json:"PhysicalResourceId"`
	StackID            string         `json:"StackId"`
	RequestID          string         `json:"RequestId"`
	LogicalResourceID  string         `json:"LogicalResourceId"`
	Data               map[string]any `json:"Data,omitempty"`
}

func (h *Handler) customResource(ctx context.Context, ev cfn.Event) error {
	resp := cfnResponse{
		Status:             "SUCCESS",
		PhysicalResourceID: ev.PhysicalResourceID,
		StackID:            ev.StackID,
		RequestID:          ev.RequestID,
		LogicalResourceID:  ev.LogicalResourceID,
	}
	if resp.PhysicalResourceID == "" {
		resp.PhysicalResourceID = PhysicalResourceID
	}
	switch ev.RequestType {
	case cfn.RequestCreate, cfn.RequestUpdate:
		runCtx, cancel := beforeDeadline(ctx, responseMargin)
		start := time.Now()
		res, err := h.run(runCtx)
		cancel()
		h.logRun(ctx, "cloudformation-"+string(ev.RequestType), res, err, start)
		if err != nil {
			resp.Status, resp.Reason = "FAILED", reason(ctx, err)
		} else {
			resp.Data = map[string]any{"Version": res.Version, "Applied": len(res.Applied)}
		}
	case cfn.RequestDelete:
		// The schema outlives the stack resource: deleting data is never a side effect of a stack change.
	default:
		resp.Status, resp.Reason = "FAILED", fmt.Sprintf("unknown RequestType %q", ev.RequestType)
	}
	if err := h.respond(ctx, ev.ResponseURL, resp); err != nil {
		return &ResponseError{Err: err}
	}
	return nil
}

// beforeDeadline cuts ctx short of its deadline by margin, when it has one.
func beforeDeadline(ctx context.Context, margin time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-margin))
	}
	return context.WithCancel(ctx)
}

func reason(ctx context.Context, err error) string {
	r := err.Error()
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r += " (request " + lc.AwsRequestID + ", log stream " + lambdacontext.LogStreamName + ")"
	}
	if len(r) > maxReasonBytes {
		r = r[:maxReasonBytes-3] + "..."
	}
	return r
}

func (h *Handler) respond(ctx context.Context, responseURL string, resp cfnResponse) error {
	if responseURL == "" {
		return fmt.Errorf("the event has no ResponseURL")
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	// The response must go out even when the invocation's context is already cancelled.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), responseTimeout)
	defer cancel()
	// No Content-Type: the pre-signed S3 URL was signed without one.
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, responseURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	r, err := h.client.Do(req)
	if err != nil {
		// Drop the URL from the message: it carries a signature.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("PUT to the ResponseURL: %w", err)
	}
	defer r.Body.Close()
	if r.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(r.Body, 512))
		return fmt.Errorf("PUT answered %s: %s", r.Status, bytes.TrimSpace(msg))
	}
	return nil
}
