// Package migratehandler is the migrate function's Lambda handler. It accepts a direct invocation
// {"action":"migrate"} and answers with the schema.Result, and a CloudFormation custom resource event,
// for which it migrates on Create and Update, does nothing on Delete, and always PUTs SUCCESS or FAILED
// to the event's ResponseURL so that a stack never waits for a reply that will not come. On a
// schedule, {"action":"expire-idempotency-keys"} sweeps idempotency records past their 24 hours.
//
// Nothing that can fail runs before the handler: configuration, AWS configuration, the admin secret
// and the database are all set up by the first invocation that needs them (see Connect), so a failure
// becomes a FAILED response instead of an exit during init that CloudFormation never hears about.
//
// Responses go only to HTTPS URLs on CloudFormation's response hosts (see Responder), and a custom
// resource event whose ResponseURL is anything else runs nothing: a forged Create cannot make the
// function migrate, or send a request to a host of the forger's choice.
package migratehandler

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/eventjson"
	"github.com/switchyard-dr/switchyard/internal/schema"
	"github.com/switchyard-dr/switchyard/internal/tracing"
)

// PhysicalResourceID names the schema resource when CloudFormation has not named it yet. It never
// changes, so an Update never makes CloudFormation delete the "old" schema.
const PhysicalResourceID = "switchyard-schema"

// Margins kept before the invocation's deadline: enough to PUT the custom resource response after a
// migration that ran out of time.
const responseMargin = 5 * time.Second

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

// Database is what a run works on: the pool, and where the application user's credentials come
// from (nil: no user is provisioned).
type Database struct {
	DB      *sql.DB
	AppUser func(context.Context) (schema.AppUser, error)
}

// Handler runs migrations for direct and CloudFormation invocations.
type Handler struct {
	open      func(context.Context) (Database, error)
	responder *Responder
	log       *slog.Logger

	mu   sync.Mutex
	conn *Database // set once open succeeds; a failed open is tried again by the next invocation
}

// New returns a Handler migrating db; responder sends custom resource responses (nil: the deployed
// policy); log gets one line per invocation (nil discards).
func New(db *sql.DB, responder *Responder, log *slog.Logger) *Handler {
	return Deferred(func(context.Context) (Database, error) { return Database{DB: db}, nil }, responder, log)
}

// Deferred returns a Handler that calls open when an invocation first needs the database.
func Deferred(open func(context.Context) (Database, error), responder *Responder, log *slog.Logger) *Handler {
	if responder == nil {
		responder = NewResponder(config.CustomResourceResponses{})
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{open: open, responder: responder, log: log}
}

// Connect sets up what the deployed function needs, from its configuration and the error loading
// it returned, when an invocation first needs it: nothing here runs during init.
func Connect(cfg config.Migrate, cfgErr error) func(context.Context) (Database, error) {
	return func(ctx context.Context) (Database, error) {
		if cfgErr != nil {
			return Database{}, fmt.Errorf("configuration: %w", cfgErr)
		}
		tracer := tracing.New(cfg.Tracing)
		awsCfg, err := db.AWSConfig(ctx, cfg.DB, tracer)
		if err != nil {
			return Database{}, err
		}
		pool, err := db.Open(ctx, cfg.DB, db.Deps{AWS: awsCfg, Tracer: tracer})
		if err != nil {
			return Database{}, err
		}
		return Database{DB: pool, AppUser: db.AppUserSource(awsCfg, cfg.AppSecretARN)}, nil
	}
}

// WithAppUser makes every run also create the application's database user, or update its password,
// from what users returns, whatever the Database says.
func (h *Handler) WithAppUser(users func(context.Context) (schema.AppUser, error)) *Handler {
	open := h.open
	h.open = func(ctx context.Context) (Database, error) {
		d, err := open(ctx)
		d.AppUser = users
		return d, err
	}
	return h
}

func (h *Handler) database(ctx context.Context) (Database, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn != nil {
		return *h.conn, nil
	}
	d, err := h.open(ctx)
	if err != nil {
		return Database{}, err
	}
	h.conn = &d
	return d, nil
}

// run applies the migrations, then provisions the application user when one is configured.
func (h *Handler) run(ctx context.Context) (schema.Result, error) {
	d, err := h.database(ctx)
	if err != nil {
		return schema.Result{}, err
	}
	res, err := schema.Migrate(ctx, d.DB)
	if err != nil || d.AppUser == nil {
		return res, err
	}
	u, err := d.AppUser(ctx)
	if err == nil {
		err = schema.EnsureAppUser(ctx, d.DB, u)
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
	if err := eventjson.Unmarshal(raw, &in); err != nil {
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
	d, err := h.database(ctx)
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "expire idempotency keys", slog.String("error", err.Error()))
		return nil, &MigrationError{Err: err}
	}
	sw, err := schema.ExpireIdempotencyKeys(ctx, d.DB, start)
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
	// Nothing runs for an event CloudFormation cannot have sent: without a response host of its own,
	// the event is forged or broken, and there is nobody to answer.
	target, err := h.responder.Check(ev.ResponseURL)
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "custom resource event refused", slog.String("requestType", string(ev.RequestType)),
			slog.String("error", err.Error()))
		return &InvalidInputError{Detail: "custom resource event refused: " + err.Error()}
	}
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
	switch {
	case !strings.HasPrefix(ev.StackID, "arn:") || ev.RequestID == "" || ev.LogicalResourceID == "":
		h.log.LogAttrs(ctx, slog.LevelError, "custom resource event lacks StackId, RequestId or LogicalResourceId")
		resp.Status, resp.Reason = "FAILED", "The event lacks StackId, RequestId or LogicalResourceId."
	case ev.RequestType == cfn.RequestCreate || ev.RequestType == cfn.RequestUpdate:
		runCtx, cancel := beforeDeadline(ctx, responseMargin)
		start := time.Now()
		res, err := h.run(runCtx)
		cancel()
		h.logRun(ctx, "cloudformation-"+string(ev.RequestType), res, err, start)
		if err != nil {
			resp.Status, resp.Reason = "FAILED", failureReason(ctx)
		} else {
			resp.Data = map[string]any{"Version": res.Version, "Applied": len(res.Applied)}
		}
	case ev.RequestType == cfn.RequestDelete:
		// The schema outlives the stack resource: deleting data is never a side effect of a stack change.
	default:
		resp.Status, resp.Reason = "FAILED", "Unknown RequestType: want Create, Update or Delete."
	}
	body, err := json.Marshal(resp)
	if err == nil {
		err = h.responder.Send(ctx, target, body)
	}
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "custom resource response not delivered", slog.String("status", resp.Status),
			slog.String("error", err.Error()))
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

// failureReason is what CloudFormation shows for a failed migration: where to read the cause, never
// the cause itself (database errors name internals; stack events are visible to more people than
// the function's logs).
func failureReason(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return fmt.Sprintf("Schema migration failed: see the migrate function's CloudWatch Logs, log stream %s, request %s.",
			lambdacontext.LogStreamName, lc.AwsRequestID)
	}
	return "Schema migration failed: see the migrate function's logs."
}
