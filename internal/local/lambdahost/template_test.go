package lambdahost_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
)

func TestTemplateFunctions(t *testing.T) {
	fns, err := lambdahost.TemplateFunctions(filepath.Join("testdata", "template.yaml"), "/bin-dir")
	if err != nil {
		t.Fatal(err)
	}
	want := []lambdahost.Function{
		{Name: "api", Binary: "/bin-dir/api/bootstrap", Timeout: 8 * time.Second, MemoryMB: 256,
			Env:    map[string]string{"LOG_SHAPE": "json", "DB_AUTH": "iam"},
			Routes: []lambdahost.Route{{Method: "ANY", Path: "/files/{proxy+}"}, {Method: "GET", Path: "/things/{id}"}}},
		{Name: "job", Binary: "/bin-dir/job/bootstrap", Timeout: 10 * time.Second, MemoryMB: 1024,
			Env: map[string]string{"LOG_SHAPE": "json"}, Aliases: []string{"live"}},
	}
	if !equalJSON(fns, want) {
		t.Errorf("TemplateFunctions =\n%+v\nwant\n%+v", fns, want)
	}
}

func TestTemplateFunctionsErrors(t *testing.T) {
	noFunctions := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(noFunctions, []byte("Resources: {Api: {Type: AWS::Serverless::HttpApi}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, file string }{
		{"missing file", filepath.Join("testdata", "nosuch.yaml")},
		{"no functions", noFunctions},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if fns, err := lambdahost.TemplateFunctions(tt.file, "/bin"); err == nil {
				t.Errorf("TemplateFunctions(%s) = %v, want an error", tt.file, fns)
			}
		})
	}
}
