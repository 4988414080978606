// Package awscli runs the AWS CLI in tests, against the local stand-ins (localcloud, the Lambda
// host). The CLI (v1, on botocore) is an AWS client this project did not write: it serializes
// requests and parses answers and errors from AWS's own service models, so a stand-in that
// passes under it speaks the wire formats as AWS does, not only as aws-sdk-go-v2 reads them.
//
// Each call runs with dummy credentials, the given endpoint and region, JSON output, one attempt
// (errors come back at once instead of after retries), and none of the user's AWS configuration
// or environment. Nothing deployed imports this package.
package awscli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Require returns the path of the aws command. When it is missing the test fails under CI=true
// (the suite must run there) and is skipped, saying why, elsewhere.
func Require(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err == nil {
		return path
	}
	const why = "the AWS CLI (`aws`, v1 on botocore, preinstalled in the image's Python 3.11) is not on PATH; " +
		"the AWS CLI suite checks the stand-ins with it. PyPI is not reachable here: use a machine built from the project's image"
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
}

// Result is one CLI run.
type Result struct {
	Args     []string
	Stdout   []byte
	Stderr   string
	ExitCode int
}

// Run runs `aws <args>` against endpoint as region. It fails the test only when the command
// cannot be run at all; the caller checks the exit code.
func Run(t testing.TB, endpoint, region string, args ...string) Result {
	t.Helper()
	bin := Require(t)
	full := append([]string{"--endpoint-url", endpoint, "--region", region, "--output", "json"}, args...)
	cmd := exec.Command(bin, full...)
	cmd.Env = environment(region)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	res := Result{Args: args, Stdout: stdout.Bytes(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	case err != nil:
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// environment is a clean one: PATH and HOME for Python, dummy credentials, and every AWS variable
// of the caller left out, so a developer's profile, region or endpoint cannot leak in.
func environment(region string) []string {
	env := []string{
		"AWS_ACCESS_KEY_ID=AKIALOCALTEST", "AWS_SECRET_ACCESS_KEY=local-test-secret",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_DEFAULT_REGION=" + region,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard", "AWS_PAGER=",
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PATH" || k == "HOME" || k == "LANG" || k == "PYENV_ROOT" || k == "PYENV_VERSION" {
			env = append(env, kv)
		}
	}
	return env
}

// OK fails the test unless the command succeeded, and returns its JSON output (nil when empty).
func (r Result) OK(t testing.TB) map[string]any {
	t.Helper()
	if r.ExitCode != 0 {
		t.Fatalf("aws %s: exit %d: %s", strings.Join(r.Args, " "), r.ExitCode, r.Stderr)
	}
	if len(bytes.TrimSpace(r.Stdout)) == 0 {
		return nil
	}
	var out map[string]any
	if err := json.Unmarshal(r.Stdout, &out); err != nil {
		t.Fatalf("aws %s: output is not a JSON object: %v\n%s", strings.Join(r.Args, " "), err, r.Stdout)
	}
	return out
}

var errorLine = regexp.MustCompile(`An error occurred \(([^)]*)\) when calling the (\w+) operation(?: \([^)]*\))?: ?(.*)`)

// Error fails the test unless the command failed with an AWS error as the CLI reports it
// ("An error occurred (Code) when calling the Op operation (reached max retries: 0): message"),
// and returns code and message.
func (r Result) Error(t testing.TB) (code, message string) {
	t.Helper()
	m := errorLine.FindStringSubmatch(r.Stderr)
	if r.ExitCode == 0 || m == nil {
		t.Fatalf("aws %s: exit %d, stderr %q; want an AWS error", strings.Join(r.Args, " "), r.ExitCode, r.Stderr)
	}
	return m[1], strings.TrimSpace(m[3])
}

// WantError fails the test unless the command failed with the given error code, and returns the message.
func (r Result) WantError(t testing.TB, code string) string {
	t.Helper()
	got, msg := r.Error(t)
	if got != code {
		t.Errorf("aws %s: error code %q (%s), want %q", strings.Join(r.Args, " "), got, msg, code)
	}
	return msg
}
