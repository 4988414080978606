package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// binDir holds the echo test function (from internal/local/lambdahost/testdata) as the bootstrap of
// both functions of internal/local/lambdahost/testdata/template.yaml.
var binDir string

var template = filepath.Join("..", "..", "internal", "local", "lambdahost", "testdata", "template.yaml")

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdahost-cmd-test-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(dir, "api", "bootstrap"),
		"../../internal/local/lambdahost/testdata/echo")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	code := 1
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
	} else {
		code = m.Run()
	}
	// job's binary is left unbuilt: the "binary not built" case and serve's error need it missing.
	os.RemoveAll(dir)
	os.Exit(code)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInvokeCommand(t *testing.T) {
	overrides := writeFile(t, "local.json", `{"region":"eu-west-1","functions":{"api":{"env":{"DB_AUTH":"dsn","FROM_FILE":"file","BOTH":"file"},"timeout":"1s"}}}`)
	envEvent := writeFile(t, "env.json", `{"echo":"hi","env":["DB_AUTH","LOG_SHAPE","FROM_FILE","BOTH","AWS_REGION"]}`)
	failEvent := writeFile(t, "fail.json", `{"fail":"lagging"}`)
	notJSON := writeFile(t, "bad.json", `{nope`)
	badOverrides := writeFile(t, "bad-local.json", `{"functions":{"api":{"timeot":"1s"}}}`)
	unknownFn := writeFile(t, "unknown-local.json", `{"functions":{"nosuch":{}}}`)
	exitingInit := writeFile(t, "exit-local.json", `{"functions":{"api":{"binary":"/bin/false"}}}`)
	common := []string{"-template", template, "-bin", binDir}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"response with env precedence", []string{"-function", "api", "-event", envEvent, "-config", overrides, "-env", "BOTH=flag"}, 0,
			`"env":{"AWS_REGION":"eu-west-1","BOTH":"flag","DB_AUTH":"dsn","FROM_FILE":"file","LOG_SHAPE":"json"}`, ""},
		{"function error", []string{"-function", "api", "-event", failEvent}, 1, "", "api failed (StaleReadError): stale read: lagging"},
		{"event not JSON", []string{"-function", "api", "-event", notJSON}, 1, "", "must be JSON"},
		{"missing flags", []string{"-function", "api"}, 2, "", "want -function FN -event FILE"},
		{"unknown function", []string{"-function", "nosuch", "-event", envEvent}, 1, "", `no function "nosuch"`},
		{"binary not built", []string{"-function", "job", "-event", envEvent}, 1, "", "make build-local"},
		{"init failure with a hint", []string{"-function", "api", "-event", envEvent, "-config", exitingInit}, 1, "",
			"hint: api did not finish its init"},
		{"overrides with a typo", []string{"-function", "api", "-event", envEvent, "-config", badOverrides}, 1, "", `unknown field "timeot"`},
		{"overrides naming an unknown function", []string{"-function", "api", "-event", envEvent, "-config", unknownFn}, 1, "", `function "nosuch" is not in`},
		{"bad -env", []string{"-function", "api", "-event", envEvent, "-env", "NOEQUALS"}, 2, "", "want KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"invoke"}, append(common, tt.args...)...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, stderr.String())
			}
			if tt.wantCode == 0 && !json.Valid(bytes.TrimSpace(stdout.Bytes())) {
				t.Errorf("stdout is not the JSON response: %q", stdout.String())
			}
		})
	}
}

func TestInvokeCommandTakesTheOverridesFileFromTheEnvironment(t *testing.T) {
	t.Setenv("LAMBDAHOST_CONFIG", writeFile(t, "local.json", `{"functions":{"api":{"env":{"DB_DSN":"from-env-file"}}}}`))
	event := writeFile(t, "env.json", `{"env":["DB_DSN"]}`)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"invoke", "-template", template, "-bin", binDir, "-function", "api", "-event", event}, &stdout, &stderr)
	if want := `"env":{"DB_DSN":"from-env-file"}`; code != 0 || !strings.Contains(stdout.String(), want) {
		t.Errorf("exit %d, stdout %q; want 0 and %s\n%s", code, stdout.String(), want, stderr.String())
	}
}
