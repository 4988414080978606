package lambdahost_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
)

func httpHost(t *testing.T) *lambdahost.Host {
	return startHost(t, lambdahost.Config{AccountID: "123456789012", Functions: []lambdahost.Function{
		{Name: "httpecho", Binary: bin("httpecho"), Routes: []lambdahost.Route{
			{Method: "GET", Path: "/items"}, {Method: "POST", Path: "/items"},
			{Method: "GET", Path: "/items/{id}"}, {Method: "ANY", Path: "/items/{id}"},
			{Method: "GET", Path: "/items/special"},
			{Method: "ANY", Path: "/files/{proxy+}"}, {Method: "GET", Path: "/files/readme"},
		}},
		{Name: "echo", Binary: bin("echo"), Routes: []lambdahost.Route{{Method: "GET", Path: "/plain"}}},
		{Name: "initfail", Binary: bin("initfail"), Routes: []lambdahost.Route{{Method: "GET", Path: "/broken"}}},
	}})
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestHTTPAPIRoutesWithAPIGatewayPrecedence(t *testing.T) {
	h := httpHost(t)
	tests := []struct {
		method, path string
		wantRoute    string
		wantParams   map[string]string
	}{
		{"GET", "/items", "GET /items", nil},
		{"POST", "/items", "POST /items", nil},
		{"GET", "/items/42", "GET /items/{id}", map[string]string{"id": "42"}},
		{"DELETE", "/items/42", "ANY /items/{id}", map[string]string{"id": "42"}},
		{"GET", "/items/special", "GET /items/special", nil},
		{"GET", "/files/a/b/c.txt", "ANY /files/{proxy+}", map[string]string{"proxy": "a/b/c.txt"}},
		{"GET", "/files/readme", "GET /files/readme", nil},
		{"PUT", "/files/readme", "ANY /files/{proxy+}", map[string]string{"proxy": "readme"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, h.HTTPURL()+tt.path, nil)
			resp, body := do(t, req)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.RouteKey != tt.wantRoute || resp.Header.Get("X-Route") != tt.wantRoute {
				t.Errorf("routeKey = %q, want %q", ev.RouteKey, tt.wantRoute)
			}
			if !equalJSON(ev.PathParameters, tt.wantParams) {
				t.Errorf("pathParameters = %v, want %v", ev.PathParameters, tt.wantParams)
			}
		})
	}
	for _, tt := range []struct{ method, path string }{{"GET", "/nothing"}, {"DELETE", "/items"}, {"GET", "/files/"}} {
		t.Run("no route "+tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, h.HTTPURL()+tt.path, nil)
			resp, body := do(t, req)
			if resp.StatusCode != 404 || string(body) != `{"message":"Not Found"}` {
				t.Errorf("got %d %s, want API Gateway's 404 {\"message\":\"Not Found\"}", resp.StatusCode, body)
			}
		})
	}
}

func TestHTTPAPIEventAndResponse(t *testing.T) {
	h := httpHost(t)
	req, _ := http.NewRequest("POST", h.HTTPURL()+"/items?status=201&tag=a&tag=b&empty=", strings.NewReader(`{"task":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Custom-Header", "one")
	req.Header.Add("X-Custom-Header", "two")
	req.Header.Set("Cookie", "session=abc; theme=dark")
	req.Header.Set("User-Agent", "lambdahost-test")
	resp, body := do(t, req)
	if resp.StatusCode != 201 {
		t.Fatalf("status = %d, want the function's 201; body %s", resp.StatusCode, body)
	}
	if got := resp.Header.Values("Set-Cookie"); strings.Join(got, "|") != "session=abc; HttpOnly|theme=dark" {
		t.Errorf("Set-Cookie = %q, want the function's two cookies", got)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", ev.Version, "2.0"},
		{"routeKey", ev.RouteKey, "POST /items"},
		{"rawPath", ev.RawPath, "/items"},
		{"rawQueryString", ev.RawQueryString, "status=201&tag=a&tag=b&empty="},
		{"queryStringParameters", ev.QueryStringParameters, map[string]string{"status": "201", "tag": "a,b", "empty": ""}},
		{"cookies", ev.Cookies, []string{"session=abc", "theme=dark"}},
		{"header joined and lower-cased", ev.Headers["x-custom-header"], "one,two"},
		{"content-type header", ev.Headers["content-type"], "application/json"},
		{"cookie header removed", ev.Headers["cookie"], ""},
		{"body", ev.Body, `{"task":"x"}`},
		{"isBase64Encoded", ev.IsBase64Encoded, false},
		{"requestContext.http.method", ev.RequestContext.HTTP.Method, "POST"},
		{"requestContext.http.path", ev.RequestContext.HTTP.Path, "/items"},
		{"requestContext.http.sourceIp", ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
		{"requestContext.http.userAgent", ev.RequestContext.HTTP.UserAgent, "lambdahost-test"},
		{"requestContext.routeKey", ev.RequestContext.RouteKey, "POST /items"},
		{"requestContext.accountId", ev.RequestContext.AccountID, "123456789012"},
		{"requestContext.stage", ev.RequestContext.Stage, "$default"},
		{"requestContext.requestId matches apigw-requestid", ev.RequestContext.RequestID, resp.Header.Get("Apigw-Requestid")},
	}
	for _, c := range checks {
		if !equalJSON(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if ev.RequestContext.RequestID == "" || ev.RequestContext.TimeEpoch == 0 || ev.RequestContext.Time == "" {
		t.Errorf("requestContext requestId %q, time %q, timeEpoch %d: want all set", ev.RequestContext.RequestID,
			ev.RequestContext.Time, ev.RequestContext.TimeEpoch)
	}
}

func TestHTTPAPIBinaryBodies(t *testing.T) {
	h := httpHost(t)
	raw := []byte{0x89, 'P', 'N', 'G', 0, 0xff}
	req, _ := http.NewRequest("POST", h.HTTPURL()+"/items", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "image/png")
	_, body := do(t, req)
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if got, _ := base64.StdEncoding.DecodeString(ev.Body); !ev.IsBase64Encoded || !bytes.Equal(got, raw) {
		t.Errorf("binary request: isBase64Encoded=%v body=%q, want the bytes base64-encoded", ev.IsBase64Encoded, ev.Body)
	}

	req, _ = http.NewRequest("GET", h.HTTPURL()+"/items?reply=binary", nil)
	resp, body := do(t, req)
	if !bytes.Equal(body, []byte{0, 1, 2, 255}) || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("binary response: %q (%s), want the decoded bytes 00 01 02 ff", body, resp.Header.Get("Content-Type"))
	}
}

func TestHTTPAPIResponseFormats(t *testing.T) {
	h := httpHost(t)
	t.Run("an answer without statusCode is a 200 JSON body", func(t *testing.T) {
		resp, body := do(t, mustRequest("GET", h.HTTPURL()+"/plain"))
		var r echoReply
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &r) != nil || r.PID == 0 {
			t.Errorf("got %d %s %s, want 200 application/json with the function's answer", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
	t.Run("a failing function is API Gateway's 500", func(t *testing.T) {
		resp, body := do(t, mustRequest("GET", h.HTTPURL()+"/broken"))
		if resp.StatusCode != 500 || string(body) != `{"message":"Internal Server Error"}` {
			t.Errorf("got %d %s, want 500 {\"message\":\"Internal Server Error\"}", resp.StatusCode, body)
		}
	})
}

func mustRequest(method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	return req
}
