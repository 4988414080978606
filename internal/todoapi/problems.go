package todoapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchyard-dr/switchyard/internal/todo"
)

// ProblemBase prefixes every problem type this API returns.
const ProblemBase = "https://switchyard.dev/problems/"

// Problem types. They are part of the API contract: clients, the drill and the failover verifier
// match on them, so they never change.
const (
	ProblemInvalidRequest      = ProblemBase + "invalid-request"
	ProblemNotFound            = ProblemBase + "not-found"
	ProblemNotThroughEdge      = ProblemBase + "not-through-edge"
	ProblemMethodNotAllowed    = ProblemBase + "method-not-allowed"
	ProblemPreconditionFailed  = ProblemBase + "precondition-failed"
	ProblemPayloadTooLarge     = ProblemBase + "payload-too-large"
	ProblemUnsupportedMedia    = ProblemBase + "unsupported-media-type"
	ProblemIdempotencyReused   = ProblemBase + "idempotency-key-reused"
	ProblemRegionNotWriter     = ProblemBase + "region-not-writer"
	ProblemDatabaseUnavailable = ProblemBase + "database-unavailable"
	ProblemInternal            = ProblemBase + "internal-error"
)

// Retry-After values, in seconds. A region stops being a reader only through a failover, which takes
// minutes; an unreachable database is more often a short blip (connection limit, proxy failover).
const (
	retryNotWriter   = "30"
	retryUnavailable = "5"
)

type problemKind struct {
	status     int
	typ        string
	title      string
	retryAfter string
}

// Problems of the HTTP request itself, found before the todo service is asked; their codes sit in
// errorKinds beside the domain's.
const (
	codeNoRoute          = "http:no-route"
	codeMethodNotAllowed = "http:method-not-allowed"
	codeUnsupportedMedia = "http:unsupported-media-type"
	codeTooLarge         = "http:payload-too-large"
)

// errorKinds is the one table from error codes, the domain's and the request's, to HTTP.
var errorKinds = map[string]problemKind{
	codeNoRoute:          {http.StatusNotFound, ProblemNotFound, "No such resource", ""},
	codeMethodNotAllowed: {http.StatusMethodNotAllowed, ProblemMethodNotAllowed, "Method not allowed", ""},
	codeUnsupportedMedia: {http.StatusUnsupportedMediaType, ProblemUnsupportedMedia, "Unsupported media type", ""},
	codeTooLarge:         {http.StatusRequestEntityTooLarge, ProblemPayloadTooLarge, "Body too large", ""},

	todo.EINVALID:      {http.StatusBadRequest, ProblemInvalidRequest, "The request is not valid", ""},
	todo.ENOTFOUND:     {http.StatusNotFound, ProblemNotFound, "No such todo", ""},
	todo.EPRECONDITION: {http.StatusPreconditionFailed, ProblemPreconditionFailed, "The todo changed since it was read", ""},
	todo.EIDEMPOTENCY:  {http.StatusUnprocessableEntity, ProblemIdempotencyReused, "Idempotency-Key reused with a different request", ""},
	todo.ENOTWRITER:    {http.StatusServiceUnavailable, ProblemRegionNotWriter, "This region is not the writer", retryNotWriter},
	todo.EUNAVAILABLE:  {http.StatusServiceUnavailable, ProblemDatabaseUnavailable, "The database is unavailable", retryUnavailable},
	todo.EINTERNAL:     {http.StatusInternalServerError, ProblemInternal, "Internal error", ""},
}

// detail is what the caller may read: the domain message for client errors and for the two 503s,
// a fixed sentence for anything internal.
func detail(k problemKind, err error) string {
	var te *todo.Error
	switch {
	case k.status == http.StatusInternalServerError || !errors.As(err, &te):
		return "The request failed on our side; it has been logged. Retry later or report the request id."
	case k.typ == ProblemRegionNotWriter:
		return "This region is not the writer now (its database is a read-only replica, or it does not hold the writer lease); writes go to the writer region. Reads still work here."
	case k.typ == ProblemDatabaseUnavailable:
		return "The database did not answer in time. Retry after the Retry-After delay."
	}
	return te.Message
}

func (h *Handler) errorResponse(err error) events.APIGatewayV2HTTPResponse {
	k, ok := errorKinds[todo.ErrorCode(err)]
	if !ok {
		k = errorKinds[todo.EINTERNAL]
	}
	return h.problem(k, detail(k, err))
}

func (h *Handler) problem(k problemKind, detail string) events.APIGatewayV2HTTPResponse {
	body := appendProblem(make([]byte, 0, 256), k, detail)
	r := events.APIGatewayV2HTTPResponse{
		StatusCode: k.status,
		Headers:    map[string]string{"Content-Type": "application/problem+json"},
		Body:       string(body),
	}
	if k.retryAfter != "" {
		r.Headers["Retry-After"] = k.retryAfter
	}
	return r
}

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func appendProblem(b []byte, k problemKind, detail string) []byte {
	// Marshalling four strings and an int cannot fail.
	out, _ := json.Marshal(Problem{Type: k.typ, Title: k.title, Status: k.status, Detail: detail})
	return append(b, out...)
}
