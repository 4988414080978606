package lambdahost_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
)

func TestGetFunction(t *testing.T) {
	h := startHost(t, lambdahost.Config{Region: "us-west-2", Functions: []lambdahost.Function{echoFunction()}})
	client := sdkClient(h, "us-west-2")
	out, err := client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("echo")})
	if err != nil {
		t.Fatalf("GetFunction: %v", err)
	}
	c := out.Configuration
	if aws.ToString(c.FunctionName) != "echo" || aws.ToString(c.FunctionArn) != h.FunctionARN("echo") ||
		c.Runtime != types.RuntimeProvidedal2023 || aws.ToInt32(c.Timeout) != 2 || aws.ToInt32(c.MemorySize) != 256 ||
		c.State != types.StateActive || c.Environment.Variables["APP_SETTING"] != "from-config" || aws.ToString(c.CodeSha256) == "" {
		t.Errorf("Configuration = %+v, want echo's name, ARN, provided.al2023, 2 s, 256 MB, Active, its environment and code hash", c)
	}
	conf, err := client.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{
		FunctionName: aws.String("echo"), Qualifier: aws.String("live")})
	if err != nil || aws.ToString(conf.FunctionArn) != h.FunctionARN("echo")+":live" {
		t.Errorf("GetFunctionConfiguration(echo, live) = %v, %v; want the alias ARN", conf, err)
	}
	for _, name := range []string{"nosuch", "echo:nope"} {
		_, err := client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("GetFunction(%s) = %v, want ResourceNotFoundException", name, err)
		}
	}
}

func TestLogTypeTail(t *testing.T) {
	h := startHost(t, lambdahost.Config{Region: "us-west-2", Functions: []lambdahost.Function{echoFunction()}})
	client := sdkClient(h, "us-west-2")
	tail := func(t *testing.T, payload string) string {
		t.Helper()
		out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"),
			LogType: types.LogTypeTail, Payload: []byte(payload)})
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		b, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil {
			t.Fatalf("LogResult is not base64: %v", err)
		}
		return string(b)
	}
	log := tail(t, `{"log":"hello from echo"}`)
	for _, want := range []string{"START RequestId: ", "hello from echo", "END RequestId: ", "REPORT RequestId: "} {
		if !strings.Contains(log, want) {
			t.Errorf("LogResult %q lacks %q", log, want)
		}
	}
	big := tail(t, fmt.Sprintf(`{"log":%q}`, strings.Repeat("x", 6000)+" last words"))
	if len(big) > 4096 || !strings.Contains(big, "last words") || !strings.HasPrefix(strings.TrimSpace(big[strings.LastIndex(strings.TrimSpace(big), "\n")+1:]), "REPORT") {
		t.Errorf("LogResult of a long log = %d bytes ending %q; want at most the last 4096 bytes, REPORT last", len(big), big[max(0, len(big)-120):])
	}
	out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"log":"x"}`)})
	if err != nil || out.LogResult != nil {
		t.Errorf("without LogType: LogResult %v, %v; want none", out.LogResult, err)
	}
}

// Lambda retries a failed Event invocation twice; the host does the same with short delays here.
func TestEventInvocationRetries(t *testing.T) {
	logs := &syncBuffer{}
	h := startHost(t, lambdahost.Config{Region: "us-west-2", Functions: []lambdahost.Function{echoFunction()},
		AsyncRetryDelays: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond},
		Logger:           slog.New(slog.NewJSONHandler(logs, nil))})
	client := sdkClient(h, "us-west-2")
	for _, tt := range []struct {
		payload  string
		attempts int
	}{{`{"fail":"always"}`, 3}, {`{"echo":"once"}`, 1}} {
		out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"),
			InvocationType: types.InvocationTypeEvent, Payload: []byte(tt.payload)})
		if err != nil || out.StatusCode != 202 {
			t.Fatalf("Invoke(Event) = %v, %v; want 202", out, err)
		}
		count := func() int {
			n := 0
			for _, l := range append(logLines(t, logs.String(), "invoke failed"), logLines(t, logs.String(), "invoke")...) {
				if strings.Contains(fmt.Sprint(l["errorMessage"]), "always") == (tt.attempts == 3) {
					n++
				}
			}
			return n
		}
		deadline := time.Now().Add(10 * time.Second)
		for count() < tt.attempts && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // a fourth attempt would come within the delays
		if got := count(); got != tt.attempts {
			t.Errorf("%s: %d attempts, want %d", tt.payload, got, tt.attempts)
		}
		logs.mu.Lock()
		logs.b.Reset()
		logs.mu.Unlock()
	}
}

// A client that announces a body and sends less must not hold a connection past the read timeout
// (before the timeout existed it held one for as long as the client waited).
func TestBodyReadTimeout(t *testing.T) {
	h := startHost(t, lambdahost.Config{Region: "us-west-2", BodyReadTimeout: 200 * time.Millisecond,
		Functions: []lambdahost.Function{echoFunction(), {Name: "httpecho", Binary: bin("httpecho"), Routes: []lambdahost.Route{{Method: "POST", Path: "/items"}}}}})
	// The timeout bounds reading the request, not the invocation: a function slower than it still answers.
	out, err := sdkClient(h, "us-west-2").Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"sleep":"600ms","echo":"late"}`)})
	if err != nil || out.FunctionError != nil || !strings.Contains(string(out.Payload), "late") {
		t.Fatalf("a 600 ms invocation under a 200 ms read timeout: %v, %v", out, err)
	}
	for _, tt := range []struct{ name, url, path string }{
		{"Invoke API", h.InvokeURL(), "/2015-03-31/functions/httpecho/invocations"},
		{"HTTP API", h.HTTPURL(), "/items"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(tt.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"a\":", tt.path)
			// Generous against a loaded machine; without the timeout the wait would be unbounded.
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = bufio.NewReader(conn).ReadString('\n')
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the connection was still held 5 s after a 200 ms body read timeout")
			}
		})
	}
}

// A host taken down refuses every invocation as Lambda does in an outage — the SDK sees
// ServiceException (503), the HTTP API answers 503, Invoke returns ErrServiceUnavailable — its
// processes are gone, and once it is up again invocations start new ones.
func TestSetDown(t *testing.T) {
	h := startHost(t, lambdahost.Config{Region: "us-west-2",
		Functions: []lambdahost.Function{echoFunction(), {Name: "httpecho", Binary: bin("httpecho"), Routes: []lambdahost.Route{{Method: "GET", Path: "/items"}}}}})
	invokeEcho(t, h, "echo", `{"echo":"before"}`)
	before := h.PIDs()
	if len(before) == 0 {
		t.Fatal("setup: no process after an invocation")
	}
	if err := h.SetDown(true); err != nil {
		t.Fatal(err)
	}
	assertGone(t, before)
	_, err := sdkClient(h, "us-west-2").Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{}`)})
	var se *types.ServiceException
	if !errors.As(err, &se) {
		t.Errorf("Invoke API while down: %v, want ServiceException", err)
	}
	resp, err := http.Get(h.HTTPURL() + "/items")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("HTTP API while down: %d, want 503", resp.StatusCode)
	}
	if _, err := h.Invoke(context.Background(), "echo", []byte(`{}`)); !errors.Is(err, lambdahost.ErrServiceUnavailable) {
		t.Errorf("Invoke while down: %v, want ErrServiceUnavailable", err)
	}
	if len(h.PIDs()) != 0 {
		t.Errorf("processes while down: %v, want none", h.PIDs())
	}
	if err := h.SetDown(false); err != nil {
		t.Fatal(err)
	}
	if got := invokeEcho(t, h, "echo", `{"echo":"after"}`); got.Echo != "after" || slices.Contains(before, got.PID) {
		t.Errorf("after the outage: %+v, want the echo", got)
	}
}
