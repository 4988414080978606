package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// responses records what reaches a local HTTPS ResponseURL.
type responses struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func (r *responses) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	var body map[string]any
	json.Unmarshal(b, &body)
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
}

func (r *responses) got() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.bodies...)
}

// migrateFunction is the real bootstrap, configured as template.yaml deploys it, with env added.
func migrateFunction(t *testing.T, env map[string]string) lambdahost.Function {
	t.Helper()
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if _, err := devtools.BuildFunction(context.Background(), "migrate", bin); err != nil {
		t.Fatal(err)
	}
	fns, err := lambdahost.TemplateFunctions(filepath.Join(root, "template.yaml"), bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		if f.Name == "migrate" {
			for k, v := range env {
				f.Env[k] = v
			}
			return f
		}
	}
	t.Fatal("template.yaml has no migrate function")
	return lambdahost.Function{}
}

// cfnEvent is the Create fixture with its ResponseURL pointed at url.
func cfnEvent(t *testing.T, url string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../events/migrate/cfn-create.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	ev["ResponseURL"] = url + "/stack-response?X-Amz-Signature=local"
	out, _ := json.Marshal(ev)
	return out
}

// The real binary, under the local Lambda host, answers CloudFormation whatever fails before the
// migration can run: here an admin secret the function cannot read, and a configuration that is not
// valid at all. The FAILED response reaches the local ResponseURL, reached through the test seam
// (CFN_RESPONSE_TEST_HOSTS and CFN_RESPONSE_TEST_CA_FILE, configuration only).
func TestAlwaysAnswersCloudFormation(t *testing.T) {
	rec := &responses{}
	listener := httptest.NewTLSServer(rec)
	defer listener.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: listener.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	cloud, err := localcloud.Start(localcloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	seam := map[string]string{"CFN_RESPONSE_TEST_HOSTS": listener.Listener.Addr().String(), "CFN_RESPONSE_TEST_CA_FILE": ca,
		"AWS_ENDPOINT_URL": cloud.URL(), "AWS_ACCESS_KEY_ID": "AKIALOCAL", "AWS_SECRET_ACCESS_KEY": "local"}
	unreadable := map[string]string{"DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:no-such-admin-AbCdEf",
		"DB_APP_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:no-such-app-AbCdEf",
		"DB_ENDPOINT":       "127.0.0.1:1"}
	invalid := map[string]string{"DB_AUTH": "not-a-mode"}
	quiet := slog.New(slog.DiscardHandler)

	for name, env := range map[string]map[string]string{"unreadable secret": unreadable, "invalid configuration": invalid} {
		t.Run(name, func(t *testing.T) {
			before := len(rec.got())
			withSeam := maps.Clone(env)
			maps.Copy(withSeam, seam)
			h, err := lambdahost.New(lambdahost.Config{Region: "eu-west-1", Functions: []lambdahost.Function{migrateFunction(t, withSeam)}, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := h.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			res, err := h.Invoke(ctx, "migrate", cfnEvent(t, listener.URL))
			if err != nil {
				t.Fatal(err)
			}
			if res.FunctionError != nil {
				t.Errorf("invocation failed (%v): the handler should have answered and returned", res.FunctionError)
			}
			got := rec.got()[before:]
			if len(got) != 1 {
				t.Fatalf("%d responses reached the ResponseURL, want 1", len(got))
			}
			reason, _ := got[0]["Reason"].(string)
			if got[0]["Status"] != "FAILED" || !strings.Contains(reason, "log stream") || got[0]["RequestId"] == "" {
				t.Errorf("response %v, want FAILED with a Reason pointing at the log stream", got[0])
			}
			if strings.Contains(reason, "secretsmanager") || strings.Contains(reason, "DB_AUTH") {
				t.Errorf("Reason %q shows internals: they belong in the logs", reason)
			}
		})
	}

	// Deployed configuration (no test seam): the same local URL is not CloudFormation's, so the
	// function refuses the event and sends nothing.
	t.Run("production configuration refuses a local ResponseURL", func(t *testing.T) {
		before := len(rec.got())
		env := map[string]string{"AWS_ENDPOINT_URL": cloud.URL(), "AWS_ACCESS_KEY_ID": "AKIALOCAL", "AWS_SECRET_ACCESS_KEY": "local"}
		maps.Copy(env, unreadable)
		h, err := lambdahost.New(lambdahost.Config{Region: "eu-west-1", Functions: []lambdahost.Function{migrateFunction(t, env)}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := h.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		res, err := h.Invoke(ctx, "migrate", cfnEvent(t, listener.URL))
		if err != nil {
			t.Fatal(err)
		}
		if res.FunctionError == nil || res.FunctionError.Type != "InvalidInputError" {
			t.Errorf("function error = %v, want InvalidInputError", res.FunctionError)
		}
		if n := len(rec.got()) - before; n != 0 {
			t.Errorf("%d responses reached a host that is not CloudFormation's, want 0", n)
		}
	})
}
