package lambdahost

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// invokeAPI serves the Lambda Invoke API as aws-sdk-go-v2's Lambda client speaks it: the function
// is a name, name:qualifier, partial or full ARN (URL-encoded), the qualifier may also come as a
// query parameter, and a function failure is a 200 with X-Amz-Function-Error.
func (h *Host) invokeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{function}/invocations", h.handleInvoke)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "UnknownOperationException",
			"the local Lambda host serves only POST /2015-03-31/functions/{name}/invocations, not "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func (h *Host) handleInvoke(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("function")
	_, qualifier, err := h.lookup(ref)
	if err != nil {
		apiError(w, http.StatusNotFound, "ResourceNotFoundException", err.Error())
		return
	}
	if q := r.URL.Query().Get("Qualifier"); q != "" && qualifier == "" {
		ref += ":" + q
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestContentException", "read request body: "+err.Error())
		return
	}
	if len(payload) > MaxPayload {
		apiError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			"Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	if len(payload) > 0 && !json.Valid(payload) {
		apiError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		// Lambda queues the event and answers at once; locally it runs in the background and its
		// outcome shows in the host's log.
		go h.Invoke(h.ctx, ref, payload)
		w.Header().Set("X-Amzn-Requestid", newRequestID())
		w.WriteHeader(http.StatusAccepted)
		return
	default:
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException",
			"X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, not "+typ)
		return
	}
	res, err := h.Invoke(r.Context(), ref, payload)
	switch {
	case errors.Is(err, ErrHostClosed):
		apiError(w, http.StatusServiceUnavailable, "ServiceException", err.Error())
		return
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return // the caller has gone
	case err != nil:
		apiError(w, http.StatusInternalServerError, "ServiceException", err.Error())
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Amzn-Requestid", res.RequestID)
	hd.Set("X-Amz-Executed-Version", "$LATEST")
	if res.FunctionError != nil {
		hd.Set("X-Amz-Function-Error", "Unhandled")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(res.Payload)
}

// apiError answers in the Lambda service's REST-JSON error shape, which the SDK decodes into its
// typed errors (types.ResourceNotFoundException, ...).
func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}
