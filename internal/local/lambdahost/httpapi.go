package lambdahost

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// API Gateway's own answers when the integration cannot produce one.
const (
	gwNotFound      = `{"message":"Not Found"}`
	gwInternalError = `{"message":"Internal Server Error"}`
	gwUnavailable   = `{"message":"Service Unavailable"}`
	gwTooLarge      = `{"message":"Request Entity Too Large"}`
)

// serveHTTPAPI plays API Gateway's HTTP API with the Lambda proxy integration, payload format 2.0.
func (h *Host) serveHTTPAPI(w http.ResponseWriter, r *http.Request) {
	begin := time.Now()
	status, fn, routeKey := h.proxy(w, r)
	h.log.Info("http", "method", r.Method, "path", r.URL.Path, "routeKey", routeKey, "function", fn,
		"status", status, "durationMs", ms(time.Since(begin)))
}

func (h *Host) proxy(w http.ResponseWriter, r *http.Request) (status int, fn, routeKey string) {
	requestID := gatewayRequestID()
	w.Header().Set("Apigw-Requestid", requestID)
	t, params := h.routes.match(r.Method, r.URL.Path)
	if t == nil {
		return gatewayError(w, http.StatusNotFound, gwNotFound), "", ""
	}
	fn, routeKey = t.function, t.route.Method+" "+t.route.Path
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		return gatewayError(w, http.StatusBadRequest, `{"message":"Bad Request"}`), fn, routeKey
	}
	if len(body) > MaxPayload {
		return gatewayError(w, http.StatusRequestEntityTooLarge, gwTooLarge), fn, routeKey
	}
	event, err := json.Marshal(httpEvent(r, body, routeKey, requestID, params, h.cfg.AccountID))
	if err != nil {
		return gatewayError(w, http.StatusInternalServerError, gwInternalError), fn, routeKey
	}
	res, err := h.Invoke(r.Context(), fn, event)
	switch {
	case errors.Is(err, ErrHostClosed), errors.Is(err, ErrServiceUnavailable):
		return gatewayError(w, http.StatusServiceUnavailable, gwUnavailable), fn, routeKey
	case errors.Is(err, ErrPayloadTooLarge):
		return gatewayError(w, http.StatusRequestEntityTooLarge, gwTooLarge), fn, routeKey
	case err != nil, res.FunctionError != nil:
		return gatewayError(w, http.StatusInternalServerError, gwInternalError), fn, routeKey
	}
	resp, err := decodeHTTPResponse(res.Payload)
	if err != nil {
		h.log.Warn("malformed Lambda response for the HTTP API", "function", fn, "requestId", res.RequestID, "error", err.Error())
		return gatewayError(w, http.StatusInternalServerError, gwInternalError), fn, routeKey
	}
	hd := w.Header()
	for k, v := range resp.Headers {
		hd.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			hd.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		hd.Add("Set-Cookie", c)
	}
	if hd.Get("Content-Type") == "" {
		hd.Set("Content-Type", "application/json")
	}
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		out, _ = base64.StdEncoding.DecodeString(resp.Body) // checked by decodeHTTPResponse
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
	return resp.StatusCode, fn, routeKey
}

func gatewayError(w http.ResponseWriter, status int, body string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
	return status
}

// httpEvent builds the payload-format 2.0 event API Gateway sends for a request.
func httpEvent(r *http.Request, body []byte, routeKey, requestID string, params map[string]string, account string) events.APIGatewayV2HTTPRequest {
	now := time.Now()
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	_, localPort, _ := net.SplitHostPort(r.Host)
	headers := map[string]string{"host": r.Host, "x-forwarded-for": sourceIP, "x-forwarded-proto": "http"}
	if localPort != "" {
		headers["x-forwarded-port"] = localPort
	}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			// Payload 2.0 moves cookies out of the headers into their own list.
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		if prev, ok := headers[lk]; ok && lk == "x-forwarded-for" {
			headers[lk] = strings.Join(append(vs, prev), ", ")
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	var query map[string]string
	if values, err := url.ParseQuery(r.URL.RawQuery); err == nil && len(values) > 0 {
		query = make(map[string]string, len(values))
		for k, vs := range values {
			query[k] = strings.Join(vs, ",")
		}
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    account,
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: strings.SplitN(r.Host, ".", 2)[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type"), body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

// isText says whether API Gateway passes a body as text rather than base64: text media types,
// JSON, XML, JavaScript and forms do; anything else, or an untyped body that is not UTF-8, does not.
func isText(contentType string, body []byte) bool {
	if contentType == "" {
		return utf8.Valid(body)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-www-form-urlencoded", mt == "application/graphql":
		return true
	}
	return false
}

// decodeHTTPResponse reads a function's answer as API Gateway does for payload format 2.0: an
// object with statusCode is a response description; any other valid JSON is a 200 body.
func decodeHTTPResponse(payload []byte) (events.APIGatewayV2HTTPResponse, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(payload, &probe); err != nil || probe["statusCode"] == nil {
		if !json.Valid(payload) {
			return events.APIGatewayV2HTTPResponse{}, errors.New("response is not JSON")
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: string(payload),
			Headers: map[string]string{"Content-Type": "application/json"}}, nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return resp, err
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return resp, errors.New("statusCode out of range")
	}
	if resp.IsBase64Encoded {
		if _, err := base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return resp, errors.New("isBase64Encoded is set but the body is not base64")
		}
	}
	return resp, nil
}

// gatewayRequestID has the shape of API Gateway's request ids.
func gatewayRequestID() string {
	b := make([]byte, 11)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
