package todoapi

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchyard-dr/switchyard/internal/todo"
)

// RegionHeader names the region that served a response; every response has it.
const RegionHeader = "X-Switchyard-Region"

// MaxBodyBytes is the largest request body accepted (413 above).
const MaxBodyBytes = 64 << 10

// Options configure a Handler.
type Options struct {
	Region  string       // reported in RegionHeader and by /health
	Version string       // reported by /health
	Logger  *slog.Logger // one line per request; nil discards
	// OriginSecrets, when any, are the accepted values of OriginSecretHeader: every request but
	// GET /health must carry one, so that only the edge, which decides where writes go, reaches the
	// API. Route 53 health checks cannot send headers, and /health reveals no data.
	OriginSecrets []string
}

// OriginSecretHeader carries the edge's origin secret (set on the CloudFront origins).
const OriginSecretHeader = "x-switchyard-origin-secret"

// Handler serves the ToDo API.
type Handler struct {
	svc     *todo.Service
	region  string
	version string
	log     *slog.Logger
	secrets [][]byte
}

// New returns a Handler over svc.
func New(svc *todo.Service, opts Options) *Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{svc: svc, region: opts.Region, version: opts.Version, log: log}
	for _, s := range opts.OriginSecrets {
		h.secrets = append(h.secrets, []byte(s))
	}
	return h
}

// route is a path template and the methods it allows.
type route struct {
	name  string
	allow string
}

var (
	routeTodos  = route{"/todos", "GET, POST"}
	routeTodo   = route{"/todos/{id}", "GET, PUT, PATCH, DELETE"}
	routeHealth = route{"/health", "GET"}
	routeV1     = route{"/v1", "GET, POST, DELETE"}
)

// Routes lists every route the handler serves as API Gateway route keys ("GET /todos/{id}"): the
// HTTP API in template.yaml must declare exactly these.
func Routes() []string {
	var keys []string
	for _, r := range []route{routeTodos, routeTodo, routeHealth, routeV1} {
		for _, m := range strings.Split(r.allow, ", ") {
			keys = append(keys, m+" "+r.name)
		}
	}
	return keys
}

func match(path string) (r route, id string, ok bool) {
	switch path {
	case "/todos", "/todos/":
		return routeTodos, "", true
	case "/health":
		return routeHealth, "", true
	case "/v1", "/v1/":
		return routeV1, "", true
	}
	if rest, found := strings.CutPrefix(path, "/todos/"); found && rest != "" && !strings.Contains(rest, "/") {
		return routeTodo, rest, true
	}
	return route{}, "", false
}

// outcome is a response with the internal error behind it, if any, for the log only.
type outcome struct {
	resp  events.APIGatewayV2HTTPResponse
	cause error
}

// Handle serves one request. It never returns an error: API Gateway would turn it into a bare 500.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	start := time.Now()
	method := req.RequestContext.HTTP.Method
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	r, id, found := match(path)
	var out outcome
	defer func() {
		if p := recover(); p != nil {
			cause := fmt.Errorf("panic: %v", p)
			out = outcome{resp: h.errorResponse(cause), cause: cause}
		}
		out.resp.Headers[RegionHeader] = h.region
		resp = out.resp
		h.logRequest(ctx, req, method, r, found, out, start)
	}()
	switch {
	case !found:
		out = outcome{resp: h.problem(errorKinds[codeNoRoute],
			"Nothing is served at "+path+"; the API serves /todos, /todos/{id}, /health and /v1.")}
	case !(r == routeHealth && method == http.MethodGet) && !h.fromEdge(req):
		out = outcome{resp: h.problem(problemKind{http.StatusForbidden, ProblemNotThroughEdge, "Not through the edge", ""},
			"This regional endpoint serves only requests that come through the public endpoint: call the public URL instead.")}
	default:
		out = h.serve(ctx, req, method, r, id)
	}
	return resp, nil
}

// fromEdge reports whether req carries an accepted origin secret, or no secret is configured. The
// comparison takes the same time whatever the value, so it leaks nothing about the secret.
func (h *Handler) fromEdge(req events.APIGatewayV2HTTPRequest) bool {
	if len(h.secrets) == 0 {
		return true
	}
	got := []byte(header(req, OriginSecretHeader))
	ok := 0
	for _, s := range h.secrets {
		ok |= subtle.ConstantTimeCompare(got, s)
	}
	return ok == 1
}

func (h *Handler) logRequest(ctx context.Context, req events.APIGatewayV2HTTPRequest, method string, r route, found bool, out outcome, start time.Time) {
	name := r.name
	if !found {
		name = "unmatched"
	}
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("route", name),
		slog.Int("status", out.resp.StatusCode),
		slog.Float64("latencyMs", float64(time.Since(start).Microseconds())/1000),
		slog.String("apiRequestId", req.RequestContext.RequestID),
	}
	if out.cause != nil {
		attrs = append(attrs, slog.String("error", out.cause.Error()))
		if out.resp.StatusCode >= 500 {
			level = slog.LevelError
		}
	}
	h.log.LogAttrs(ctx, level, "request", attrs...)
}

func (h *Handler) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest, method string, r route, id string) outcome {
	switch r {
	case routeTodos:
		switch method {
		case http.MethodGet:
			return h.list(ctx, req)
		case http.MethodPost:
			return h.create(ctx, req)
		}
	case routeTodo:
		switch method {
		case http.MethodGet:
			return h.get(ctx, id)
		case http.MethodPut:
			return h.replace(ctx, req, id)
		case http.MethodPatch:
			return h.patch(ctx, req, id)
		case http.MethodDelete:
			return h.delete(ctx, req, id)
		}
	case routeHealth:
		if method == http.MethodGet {
			return h.health(ctx)
		}
	case routeV1:
		switch method {
		case http.MethodGet:
			return h.v1Get(ctx, req)
		case http.MethodPost:
			return h.v1Post(ctx, req)
		case http.MethodDelete:
			return h.v1Delete(ctx, req)
		}
	}
	resp := h.problem(errorKinds[codeMethodNotAllowed],
		fmt.Sprintf("%s does not accept %s; it accepts %s.", r.name, method, r.allow))
	resp.Headers["Allow"] = r.allow
	return outcome{resp: resp}
}

// fail turns an error into its response; the causes of 5xx responses (EINTERNAL among them) are kept
// for the log.
func (h *Handler) fail(err error) outcome {
	out := outcome{resp: h.errorResponse(err)}
	if out.resp.StatusCode >= 500 {
		out.cause = err
	}
	return out
}

func etag(t todo.Todo) string { return `"` + strconv.FormatInt(t.Version, 10) + `"` }

func (h *Handler) jsonResponse(status int, v any) outcome {
	body, err := json.Marshal(v)
	if err != nil {
		return h.fail(err)
	}
	return outcome{resp: events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}}
}

func (h *Handler) todoResponse(status int, t todo.Todo) outcome {
	out := h.jsonResponse(status, t)
	if out.resp.StatusCode == status {
		out.resp.Headers["ETag"] = etag(t)
		if status == http.StatusCreated {
			out.resp.Headers["Location"] = "/todos/" + t.ID
		}
	}
	return out
}

func noContent() outcome {
	return outcome{resp: events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{}}}
}

// listBody is the GET /todos response.
type listBody struct {
	Items      []todo.Todo `json:"items"`
	NextCursor *string     `json:"nextCursor"`
}

func (h *Handler) list(ctx context.Context, req events.APIGatewayV2HTTPRequest) outcome {
	q := req.QueryStringParameters
	in := todo.ListInput{Cursor: q["cursor"], Status: q["status"]}
	if v, ok := q["limit"]; ok {
		n, err := parseLimit(v)
		if err != nil {
			return h.fail(err)
		}
		in.Limit = n
	}
	page, err := h.svc.List(ctx, in)
	if err != nil {
		return h.fail(err)
	}
	body := listBody{Items: page.Items}
	if body.Items == nil {
		body.Items = []todo.Todo{}
	}
	if page.NextCursor != "" {
		body.NextCursor = &page.NextCursor
	}
	return h.jsonResponse(http.StatusOK, body)
}

// parseLimit accepts only plain decimal digits without a leading zero ("5", not "+5", "05" or " 5"):
// one spelling per value, so that caches and logs keyed on the query see one request, not many.
func parseLimit(v string) (int, error) {
	bad := todo.Invalid("limit", "limit must be a whole number between 1 and %d, written without sign or leading zeros", todo.MaxPageSize)
	if v == "" || len(v) > 3 || v[0] == '0' { // three digits hold every valid limit and cannot overflow
		return 0, bad
	}
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, bad
		}
		n = n*10 + int(v[i]-'0')
	}
	return n, nil // the service checks the range
}

func (h *Handler) get(ctx context.Context, id string) outcome {
	t, err := h.svc.Get(ctx, id)
	if err != nil {
		return h.fail(err)
	}
	return h.todoResponse(http.StatusOK, t)
}

func (h *Handler) create(ctx context.Context, req events.APIGatewayV2HTTPRequest) outcome {
	f, bad := h.body(req, "task", "status")
	if bad != nil {
		return *bad
	}
	in, err := newTodo(f, false)
	if err != nil {
		return h.fail(err)
	}
	t, _, err := h.svc.Create(ctx, in, header(req, "idempotency-key"))
	if err != nil {
		return h.fail(err)
	}
	return h.todoResponse(http.StatusCreated, t)
}

// newTodo reads task and status; status is optional on create and required on a full replace.
func newTodo(f fields, requireStatus bool) (todo.NewTodo, error) {
	task, ok, err := f.str("task")
	if err != nil {
		return todo.NewTodo{}, err
	}
	if !ok {
		return todo.NewTodo{}, todo.Invalid("task", "task is required")
	}
	st, ok, err := f.str("status")
	if err != nil {
		return todo.NewTodo{}, err
	}
	if !ok && requireStatus {
		return todo.NewTodo{}, todo.Invalid("status", "status is required (todo, wip or done)")
	}
	if ok {
		if _, err := todo.ParseStatus(st); err != nil {
			return todo.NewTodo{}, err
		}
	}
	return todo.NewTodo{Task: task, Status: todo.Status(st)}, nil
}

func (h *Handler) replace(ctx context.Context, req events.APIGatewayV2HTTPRequest, id string) outcome {
	f, bad := h.body(req, "task", "status")
	if bad != nil {
		return *bad
	}
	in, err := newTodo(f, true)
	if err != nil {
		return h.fail(err)
	}
	t, err := h.svc.Replace(ctx, id, in, ifMatch(req))
	if err != nil {
		return h.fail(err)
	}
	return h.todoResponse(http.StatusOK, t)
}

func (h *Handler) patch(ctx context.Context, req events.APIGatewayV2HTTPRequest, id string) outcome {
	f, bad := h.body(req, "task", "status")
	if bad != nil {
		return *bad
	}
	p, err := mergePatch(f)
	if err != nil {
		return h.fail(err)
	}
	t, err := h.svc.Patch(ctx, id, p, ifMatch(req))
	if err != nil {
		return h.fail(err)
	}
	return h.todoResponse(http.StatusOK, t)
}

// mergePatch reads an RFC 7396 merge patch. null would remove a member; task and status cannot go.
func mergePatch(f fields) (todo.Patch, error) {
	var p todo.Patch
	for _, name := range []string{"task", "status"} {
		if f.isNull(name) {
			return todo.Patch{}, todo.Invalid(name, "%s cannot be removed (null); give a new value or leave it out", name)
		}
	}
	task, ok, err := f.str("task")
	if err != nil {
		return todo.Patch{}, err
	}
	if ok {
		p.Task = &task
	}
	st, ok, err := f.str("status")
	if err != nil {
		return todo.Patch{}, err
	}
	if ok {
		s := todo.Status(st)
		p.Status = &s
	}
	return p, nil
}

func (h *Handler) delete(ctx context.Context, req events.APIGatewayV2HTTPRequest, id string) outcome {
	if err := h.svc.Delete(ctx, id, ifMatch(req)); err != nil {
		return h.fail(err)
	}
	return noContent()
}

// healthBody is the GET /health response; its four fields are a contract with the orchestrator.
type healthBody struct {
	Region  string `json:"region"`
	Role    string `json:"role"`
	DB      string `json:"db"`
	Version string `json:"version"`
}

// health answers 200 in a reader region too: a healthy reader is what a failover needs to find.
func (h *Handler) health(ctx context.Context) outcome {
	role, err := h.svc.Role(ctx)
	if err != nil {
		out := h.jsonResponse(http.StatusServiceUnavailable, healthBody{Region: h.region, Role: "unknown", DB: "unavailable", Version: h.version})
		out.resp.Headers["Retry-After"] = retryUnavailable
		out.cause = err
		return out
	}
	return h.jsonResponse(http.StatusOK, healthBody{Region: h.region, Role: string(role), DB: "ok", Version: h.version})
}

// header returns a request header; HTTP API 2.0 lower-cases names, other callers may not.
func header(req events.APIGatewayV2HTTPRequest, lower string) string {
	if v, ok := req.Headers[lower]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, lower) {
			return v
		}
	}
	return ""
}

// ifMatch reads If-Match. "*" asks only that the todo exist; a tag this API did not issue (weak, not
// a version, or a version spelled otherwise than the ETag, such as "01") can never match: ETags
// compare octet by octet, so it yields a version no todo has.
func ifMatch(req events.APIGatewayV2HTTPRequest) todo.Precondition {
	v := strings.TrimSpace(header(req, "if-match"))
	if v == "" || v == "*" {
		return todo.Precondition{}
	}
	var p todo.Precondition
	for _, tag := range strings.Split(v, ",") {
		tag = strings.TrimSpace(tag)
		n, err := strconv.ParseInt(strings.Trim(tag, `"`), 10, 64)
		if err != nil || n < 1 || tag != etag(todo.Todo{Version: n}) {
			n = -1
		}
		p.Versions = append(p.Versions, n)
	}
	return p
}

// body checks the media type and size of a write's body and parses it as a JSON object with only the
// allowed members. On failure it returns the response to send.
func (h *Handler) body(req events.APIGatewayV2HTTPRequest, allowed ...string) (fields, *outcome) {
	ct := header(req, "content-type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !(mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		out := outcome{resp: h.problem(errorKinds[codeUnsupportedMedia],
			"Send the body as JSON with Content-Type: application/json.")}
		return nil, &out
	}
	raw := []byte(req.Body)
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBodyBytes+2 {
			return nil, h.tooLarge()
		}
		if raw, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			out := h.fail(todo.Invalid("body", "the body is marked base64 but is not valid base64"))
			return nil, &out
		}
	}
	if len(raw) > MaxBodyBytes {
		return nil, h.tooLarge()
	}
	f, err := parseObject(raw, allowed...)
	if err != nil {
		out := h.fail(err)
		return nil, &out
	}
	return f, nil
}

func (h *Handler) tooLarge() *outcome {
	out := outcome{resp: h.problem(errorKinds[codeTooLarge],
		fmt.Sprintf("The body is over %d bytes.", MaxBodyBytes))}
	return &out
}
