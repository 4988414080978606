package failover

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"time"

	"github.com/switchyard-dr/switchyard/internal/eventjson"
)

// Logged wraps a step handler for lambda.Start. It decodes the input itself with the strict decoder
// (a run with a key given twice is refused, not decoded as the last one, so that no two readers of one
// input can disagree on it), and writes one log line per invocation: the step, its outcome, its
// duration and, on failure, the error type Step Functions will see and the message.
func Logged[In, Out any](log *slog.Logger, step string, h func(context.Context, In) (Out, error)) func(context.Context, json.RawMessage) (Out, error) {
	return func(ctx context.Context, raw json.RawMessage) (Out, error) {
		start := time.Now()
		var in In
		var out Out
		err := eventjson.Unmarshal(raw, &in)
		if err != nil {
			err = boundary(step, &InvalidInputError{Reason: err.Error()})
		} else {
			out, err = h(ctx, in)
		}
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
