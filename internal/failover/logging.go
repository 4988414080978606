package failover

import (
	"context"
	"log/slog"
	"reflect"
	"time"
)

// Logged wraps a handler (a step, the trigger, the prober) so that each invocation writes one log
// line: the step, its outcome, its duration and, on failure, the error type Step Functions will see
// and the message. An output with a LogAttrs method adds its own fields to the line.
func Logged[In, Out any](log *slog.Logger, step string, h func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		start := time.Now()
		out, err := h(ctx, in)
		attrs := []any{"step", step, "durationMs", time.Since(start).Milliseconds()}
		if r, ok := any(out).(interface{ LogAttrs() []any }); ok && err == nil {
			attrs = append(attrs, r.LogAttrs()...)
		}
		if err != nil {
			t := reflect.TypeOf(err)
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			log.ErrorContext(ctx, step+" failed", append(attrs, "outcome", "error", "errorType", t.Name(), "error", err.Error())...)
			return out, err
		}
		log.InfoContext(ctx, step, append(attrs, "outcome", "ok")...)
		return out, nil
	}
}
