package lambdahost_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
)

// sdkClient is aws-sdk-go-v2's Lambda client pointed at the host, as the orchestrator and
// aws-local-stepfunctions are configured locally.
func sdkClient(h *lambdahost.Host, region string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:           region,
		BaseEndpoint:     aws.String(h.InvokeURL()),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
		RetryMaxAttempts: 1,
	})
}

func TestInvokeAPIThroughTheSDKClient(t *testing.T) {
	h := startHost(t, lambdahost.Config{Region: "us-west-2", AccountID: "123456789012",
		Functions: []lambdahost.Function{echoFunction()}})
	client := sdkClient(h, "us-west-2")
	arn := "arn:aws:lambda:us-west-2:123456789012:function:echo"

	tests := []struct {
		name, function, qualifier, payload string
		wantARN                            string
	}{
		{"by name", "echo", "", `{"echo":"a"}`, arn},
		{"by ARN", arn, "", `{"echo":"b"}`, arn},
		{"by name:qualifier", "echo:live", "", `{"echo":"c"}`, arn + ":live"},
		{"by ARN with qualifier", arn + ":$LATEST", "", `{"echo":"d"}`, arn + ":$LATEST"},
		{"by partial ARN", "123456789012:function:echo", "", `{"echo":"e"}`, arn},
		{"qualifier parameter", "echo", "live", `{"echo":"f"}`, arn + ":live"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &lambda.InvokeInput{FunctionName: aws.String(tt.function), Payload: []byte(tt.payload)}
			if tt.qualifier != "" {
				in.Qualifier = aws.String(tt.qualifier)
			}
			out, err := client.Invoke(context.Background(), in)
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if out.StatusCode != 200 || out.FunctionError != nil {
				t.Fatalf("status %d, function error %v, payload %s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
			}
			var r echoReply
			if err := json.Unmarshal(out.Payload, &r); err != nil {
				t.Fatal(err)
			}
			var want any
			json.Unmarshal([]byte(tt.payload), &want)
			if r.Echo != want.(map[string]any)["echo"] || r.ARN != tt.wantARN {
				t.Errorf("function saw echo %v via %s, want %v via %s", r.Echo, r.ARN, want, tt.wantARN)
			}
			if v := aws.ToString(out.ExecutedVersion); v != "$LATEST" {
				t.Errorf("ExecutedVersion = %q, want $LATEST", v)
			}
		})
	}
}

func TestInvokeAPIErrors(t *testing.T) {
	h := startHost(t, lambdahost.Config{Region: "us-west-2", Functions: []lambdahost.Function{echoFunction()}})
	client := sdkClient(h, "us-west-2")

	t.Run("function error is Unhandled with the function's errorType", func(t *testing.T) {
		out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"),
			Payload: []byte(`{"fail":"lag 9s"}`)})
		if err != nil {
			t.Fatal(err)
		}
		var doc lambdahost.FunctionError
		json.Unmarshal(out.Payload, &doc)
		if got := aws.ToString(out.FunctionError); got != "Unhandled" || doc.Type != "StaleReadError" || doc.Message != "stale read: lag 9s" {
			t.Errorf("FunctionError %q, payload %s; want Unhandled with errorType StaleReadError", got, out.Payload)
		}
	})
	for _, tt := range []struct{ name, function string }{
		{"unknown name", "nosuch"},
		{"unknown alias", "echo:nope"},
		{"unknown version in an ARN", "arn:aws:lambda:us-west-2:123456789012:function:echo:7"},
		{"ARN of another region", "arn:aws:lambda:eu-central-1:123456789012:function:echo"},
		{"ARN of another account", "arn:aws:lambda:us-west-2:999999999999:function:echo"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(tt.function)})
			var nf *types.ResourceNotFoundException
			if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "Function not found") {
				t.Errorf("Invoke(%s) = %v, want ResourceNotFoundException: Function not found", tt.function, err)
			}
		})
	}
	t.Run("invalid JSON payload", func(t *testing.T) {
		_, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{nope`)})
		var bad *types.InvalidRequestContentException
		if !errors.As(err, &bad) {
			t.Errorf("Invoke = %v, want InvalidRequestContentException", err)
		}
	})
	t.Run("Event is accepted with 202", func(t *testing.T) {
		out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"),
			InvocationType: types.InvocationTypeEvent, Payload: []byte(`{}`)})
		if err != nil || out.StatusCode != http.StatusAccepted {
			t.Errorf("Invoke(Event) = %v, %v; want status 202", out, err)
		}
	})
	t.Run("DryRun is answered 204", func(t *testing.T) {
		out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"),
			InvocationType: types.InvocationTypeDryRun})
		if err != nil || out.StatusCode != http.StatusNoContent {
			t.Errorf("Invoke(DryRun) = %v, %v; want status 204", out, err)
		}
	})
	t.Run("URL-encoded ARN as aws-local-stepfunctions sends it", func(t *testing.T) {
		u := h.InvokeURL() + "/2015-03-31/functions/" + url.QueryEscape("arn:aws:lambda:us-west-2:123456789012:function:echo") + "/invocations"
		if !strings.Contains(u, "%3A") {
			t.Fatalf("%s: the ARN is not encoded", u)
		}
		resp, err := http.Post(u, "application/json", strings.NewReader(`{"fail":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc lambdahost.FunctionError
		json.NewDecoder(resp.Body).Decode(&doc)
		if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" || doc.Type != "StaleReadError" {
			t.Errorf("status %d, X-Amz-Function-Error %q, errorType %q; want 200, Unhandled, StaleReadError",
				resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"), doc.Type)
		}
	})
}
