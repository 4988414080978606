package lambdahost

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"
)

// logTailBytes is how much of an invocation's log LogType: Tail returns: its last 4 KB.
const logTailBytes = 4096

// invokeAPI serves the Lambda API as aws-sdk-go-v2's Lambda client and the AWS CLI speak it:
// Invoke, GetFunction and GetFunctionConfiguration. The function is a name, name:qualifier,
// partial or full ARN (URL-encoded), the qualifier may also come as a query parameter, and a
// function failure is a 200 with X-Amz-Function-Error.
func (h *Host) invokeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{function}/invocations", h.handleInvoke)
	mux.HandleFunc("GET /2015-03-31/functions/{function}", h.handleGetFunction)
	mux.HandleFunc("GET /2015-03-31/functions/{function}/configuration", h.handleGetFunction)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "UnknownOperationException",
			"the local Lambda host serves Invoke (POST /2015-03-31/functions/{name}/invocations), GetFunction and "+
				"GetFunctionConfiguration (GET /2015-03-31/functions/{name}[/configuration]), not "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// functionRef is the function as the caller named it, with a Qualifier parameter folded in.
func functionRef(r *http.Request) string {
	ref := r.PathValue("function")
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		ref += ":" + q
	}
	return ref
}

func (h *Host) handleInvoke(w http.ResponseWriter, r *http.Request) {
	ref := functionRef(r)
	if _, _, err := h.lookup(ref); err != nil {
		apiError(w, http.StatusNotFound, "ResourceNotFoundException", err.Error())
		return
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
	var opts invokeOptions
	switch lt := r.Header.Get("X-Amz-Log-Type"); lt {
	case "", "None":
	case "Tail":
		opts.log = true
	default:
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException", "X-Amz-Log-Type must be None or Tail, not "+lt)
		return
	}
	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		// Lambda queues the event and answers at once; LogType applies to synchronous calls only.
		id := newRequestID()
		if err := h.enter(); err != nil {
			apiError(w, http.StatusServiceUnavailable, "ServiceException", err.Error())
			return
		}
		go h.invokeAsync(ref, payload, id)
		w.Header().Set("X-Amzn-Requestid", id)
		w.WriteHeader(http.StatusAccepted)
		return
	default:
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException",
			"X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, not "+typ)
		return
	}
	res, err := h.invoke(r.Context(), ref, payload, opts)
	switch {
	case errors.Is(err, ErrHostClosed), errors.Is(err, ErrServiceUnavailable):
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
	if opts.log {
		tail := res.Log
		if len(tail) > logTailBytes {
			tail = tail[len(tail)-logTailBytes:]
		}
		hd.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(tail))
	}
	w.WriteHeader(http.StatusOK)
	w.Write(res.Payload)
}

// invokeAsync runs an Event invocation as Lambda's asynchronous queue does: on a function error
// it retries twice, after AsyncRetryDelays, with the same request ID. The caller has entered the
// host for it.
func (h *Host) invokeAsync(ref string, payload []byte, requestID string) {
	defer h.active.Done()
	for attempt := 0; ; attempt++ {
		res, err := h.invoke(h.ctx, ref, payload, invokeOptions{requestID: requestID})
		switch {
		case err != nil:
			h.log.Warn("event invocation dropped", "function", ref, "requestId", requestID, "attempt", attempt+1, "error", err.Error())
			return
		case res.FunctionError == nil:
			return
		case attempt >= len(h.cfg.AsyncRetryDelays):
			h.log.Warn("event invocation failed after its retries", "function", ref, "requestId", requestID,
				"attempts", attempt+1, "errorType", res.FunctionError.Type)
			return
		}
		delay := h.cfg.AsyncRetryDelays[attempt]
		h.log.Info("event invocation failed; retrying", "function", ref, "requestId", requestID,
			"attempt", attempt+1, "retryInMs", delay.Milliseconds(), "errorType", res.FunctionError.Type)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
			return
		}
	}
}

// handleGetFunction answers GetFunction and GetFunctionConfiguration with what the host knows of
// the function: its configuration as Lambda reports it, and no code location (there is no
// package to download locally).
func (h *Host) handleGetFunction(w http.ResponseWriter, r *http.Request) {
	f, qualifier, err := h.lookup(functionRef(r))
	if err != nil {
		apiError(w, http.StatusNotFound, "ResourceNotFoundException", err.Error())
		return
	}
	conf, err := h.functionConfiguration(f, qualifier)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "ServiceException", err.Error())
		return
	}
	var out any = conf
	if !strings.HasSuffix(r.URL.Path, "/configuration") {
		out = map[string]any{"Configuration": conf, "Code": map[string]any{"RepositoryType": "S3"}, "Tags": map[string]string{}}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", newRequestID())
	json.NewEncoder(w).Encode(out)
}

func (h *Host) functionConfiguration(f *function, qualifier string) (map[string]any, error) {
	bin, err := os.ReadFile(f.cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("read the function's binary: %w", err)
	}
	st, err := os.Stat(f.cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("stat the function's binary: %w", err)
	}
	sum := sha256.Sum256(bin)
	arch := runtime.GOARCH
	if arch == "amd64" {
		arch = "x86_64"
	}
	arn := h.FunctionARN(f.cfg.Name)
	if qualifier != "" {
		arn += ":" + qualifier
	}
	env := map[string]string{}
	for k, v := range f.cfg.Env {
		env[k] = v
	}
	return map[string]any{
		"FunctionName": f.cfg.Name, "FunctionArn": arn, "Runtime": "provided.al2023", "Handler": "bootstrap",
		"Role":     fmt.Sprintf("arn:aws:iam::%s:role/%s-role", h.cfg.AccountID, f.cfg.Name),
		"CodeSize": st.Size(), "CodeSha256": base64.StdEncoding.EncodeToString(sum[:]), "Description": "",
		"Timeout": int(f.cfg.Timeout / time.Second), "MemorySize": f.cfg.MemoryMB, "Version": "$LATEST",
		"LastModified": st.ModTime().UTC().Format("2006-01-02T15:04:05.000-0700"),
		"Environment":  map[string]any{"Variables": env}, "PackageType": "Zip", "Architectures": []string{arch},
		"State": "Active", "LastUpdateStatus": "Successful", "TracingConfig": map[string]string{"Mode": "PassThrough"},
	}, nil
}

// apiError answers in the Lambda service's REST-JSON error shape, which the SDK decodes into its
// typed errors (types.ResourceNotFoundException, ...).
func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}
