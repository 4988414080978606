package awsadapter

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// Error codes AWS services use for rate refusals, across protocols.
var throttlingCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"TooManyRequestsException": true, "RequestLimitExceeded": true, "RequestThrottled": true,
	"RequestThrottledException": true, "SlowDown": true, "PriorRequestNotComplete": true,
}

// Error codes of failures that may pass when retried.
var transientCodes = map[string]bool{
	"ServiceUnavailable": true, "ServiceUnavailableException": true, "InternalFailure": true,
	"InternalError": true, "InternalServerError": true, "RequestTimeout": true,
	"RequestTimeoutException": true, "ServiceException": true,
}

// classify maps an SDK error from op to the domain's named errors; other errors are wrapped as they are.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch code := api.ErrorCode(); {
		case throttlingCodes[code]:
			return &failover.ThrottledError{Op: op, Err: err}
		case code == "PreconditionFailed":
			return &failover.PreconditionError{Op: op, Err: err}
		case transientCodes[code]:
			return &failover.TransientError{Op: op, Err: err}
		}
	}
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) && resp.HTTPStatusCode() >= 500 {
		return &failover.TransientError{Op: op, Err: err}
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return &failover.TransientError{Op: op, Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}
