// Package startup is how every Lambda function's main reports a failure before it can serve: one
// log line through the function's Lambda logger (so it follows AWS_LAMBDA_LOG_FORMAT like every
// other line) naming the function, the step that failed and the error, then exit status 1, which
// Lambda reports as Runtime.ExitError with that line in the function's log.
package startup

import (
	"log/slog"
	"os"
)

// exit ends the process; a variable so that the tests can watch it instead.
var exit = os.Exit

// Check ends the cold start when err is not nil. step says what was being set up
// ("configuration", "database", ...); err must not carry secrets (the configuration's errors name
// variables, not their values).
func Check(log *slog.Logger, function, step string, err error) {
	if err == nil {
		return
	}
	log.Error(function+" cannot start", "function", function, "step", step, "error", err.Error())
	exit(1)
}
