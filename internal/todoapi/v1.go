package todoapi

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchyard-dr/switchyard/internal/todo"
)

// The /v1 routes keep the contract of the single-route API Switchyard replaces: GET /v1?id=,
// POST /v1 with {task,status} (create) or {id,task,status} (update), DELETE /v1 with {id}. Unlike the
// original, failures get their proper status codes and problem bodies instead of 200.

func (h *Handler) v1Get(ctx context.Context, req events.APIGatewayV2HTTPRequest) outcome {
	id := req.QueryStringParameters["id"]
	if id == "" {
		return h.fail(todo.Invalid("id", "id is required as a query parameter: /v1?id=<id>"))
	}
	return h.get(ctx, id)
}

func (h *Handler) v1Post(ctx context.Context, req events.APIGatewayV2HTTPRequest) outcome {
	f, bad := h.body(req, "id", "task", "status")
	if bad != nil {
		return *bad
	}
	id, hasID, err := f.str("id")
	if err != nil {
		return h.fail(err)
	}
	in, err := newTodo(f, false)
	if err != nil {
		return h.fail(err)
	}
	if !hasID {
		t, _, err := h.svc.Create(ctx, in, header(req, "idempotency-key"))
		if err != nil {
			return h.fail(err)
		}
		return h.todoResponse(http.StatusCreated, t)
	}
	t, err := h.svc.Replace(ctx, id, in, ifMatch(req))
	if err != nil {
		return h.fail(err)
	}
	return h.todoResponse(http.StatusOK, t)
}

func (h *Handler) v1Delete(ctx context.Context, req events.APIGatewayV2HTTPRequest) outcome {
	f, bad := h.body(req, "id")
	if bad != nil {
		return *bad
	}
	id, ok, err := f.str("id")
	if err != nil {
		return h.fail(err)
	}
	if !ok {
		return h.fail(todo.Invalid("id", "id is required"))
	}
	return h.delete(ctx, req, id)
}
