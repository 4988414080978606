package todo

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP adapter maps each one to a status and a problem type in a single table.
const (
	EINVALID      = "invalid"             // the request breaks a validation rule
	ENOTFOUND     = "not_found"           // no Todo has this id
	EPRECONDITION = "precondition_failed" // the Todo changed since the caller read it (If-Match)
	EIDEMPOTENCY  = "idempotency_reused"  // an Idempotency-Key came back with a different request
	ENOTWRITER    = "not_writer"          // the local database is a read-only replica
	EUNAVAILABLE  = "unavailable"         // the database did not answer in time or refused the connection
	EINTERNAL     = "internal"            // anything else: logged, never shown
)

// Error is the domain's error: a code, a message safe to show to the caller, the offending field
// when there is one, and the underlying cause for logs.
type Error struct {
	Code    string
	Field   string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a code and a message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid builds an EINVALID error naming the field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and a caller-safe message to a cause.
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first Error in err's chain, EINTERNAL for any other error and ""
// for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}
