package lambdahost_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/awscli"
	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
)

// TestAWSCLI drives every operation the host's Lambda API serves with the AWS CLI (as the
// runbooks use it) and checks the parsed answers and AWS's error codes.
func TestAWSCLI(t *testing.T) {
	awscli.Require(t)
	h := startHost(t, lambdahost.Config{Region: "us-west-2", Functions: []lambdahost.Function{echoFunction()}})
	cli := func(args ...string) awscli.Result {
		t.Helper()
		return awscli.Run(t, h.InvokeURL(), "us-west-2", args...)
	}
	dir := t.TempDir()
	outFile := filepath.Join(dir, "out.json")

	out := cli("lambda", "invoke", "--function-name", "echo", "--payload", `{"echo":"cli","log":"from the CLI"}`, "--log-type", "Tail", outFile).OK(t)
	if out["StatusCode"] != 200.0 || out["ExecutedVersion"] != "$LATEST" || out["FunctionError"] != nil {
		t.Errorf("invoke = %v, want 200 from $LATEST without FunctionError", out)
	}
	if b, _ := os.ReadFile(outFile); !strings.Contains(string(b), `"echo":"cli"`) {
		t.Errorf("invoke wrote %s, want the function's reply", b)
	}
	logs, _ := base64.StdEncoding.DecodeString(out["LogResult"].(string))
	if !strings.Contains(string(logs), "from the CLI") || !strings.Contains(string(logs), "REPORT RequestId:") {
		t.Errorf("LogResult = %q, want the invocation's log with its REPORT line", logs)
	}
	out = cli("lambda", "invoke", "--function-name", "echo:live", "--payload", `{"fail":"cli"}`, outFile).OK(t)
	if out["FunctionError"] != "Unhandled" {
		t.Errorf("invoke of a failing function = %v, want FunctionError Unhandled", out)
	}
	out = cli("lambda", "invoke", "--function-name", "echo", "--invocation-type", "Event", "--payload", `{}`, outFile).OK(t)
	if out["StatusCode"] != 202.0 {
		t.Errorf("Event invoke = %v, want StatusCode 202", out)
	}
	cli("lambda", "invoke", "--function-name", "echo:nope", outFile).WantError(t, "ResourceNotFoundException")
	cli("lambda", "invoke", "--function-name", "echo", "--payload", "{nope", outFile).WantError(t, "InvalidRequestContentException")

	out = cli("lambda", "get-function", "--function-name", "echo").OK(t)
	conf, _ := out["Configuration"].(map[string]any)
	if conf["FunctionName"] != "echo" || conf["Runtime"] != "provided.al2023" || conf["FunctionArn"] != h.FunctionARN("echo") || conf["Timeout"] != 2.0 {
		t.Errorf("get-function = %v, want echo's configuration", out)
	}
	out = cli("lambda", "get-function-configuration", "--function-name", h.FunctionARN("echo"), "--qualifier", "live").OK(t)
	if out["FunctionArn"] != h.FunctionARN("echo")+":live" {
		t.Errorf("get-function-configuration = %v, want the alias ARN", out)
	}
	cli("lambda", "get-function", "--function-name", "nosuch").WantError(t, "ResourceNotFoundException")
	cli("lambda", "list-functions").WantError(t, "UnknownOperationException")
}
