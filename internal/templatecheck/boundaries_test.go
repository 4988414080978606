package templatecheck_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
)

const module = "github.com/switchyard-dr/switchyard/"

// deps lists the packages pkg imports, directly or not, as Lambda builds it.
func deps(t *testing.T, root, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// The deployed binaries must not know whether they run in AWS or locally: nothing under functions/
// reaches the local stand-ins and tools or the template checks.
func TestFunctionsImportNoLocalStandIns(t *testing.T) {
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	// What only runs here lives under internal/local/; the template checks under internal/templatecheck/.
	forbidden := []string{module + "internal/local/", module + "internal/templatecheck"}
	for _, p := range deps(t, root, "./functions/...") {
		for _, f := range forbidden {
			if strings.HasPrefix(p, f) {
				t.Errorf("a deployed function reaches %s", p)
			}
		}
		if strings.HasPrefix(p, "go.yaml.in/") {
			t.Errorf("a deployed function reaches %s (local tooling only)", p)
		}
	}
}

// Domain packages import no AWS SDK, no database driver and no HTTP server; only internal/tracing
// imports the X-Ray SDK, so replacing it is one package's change.
func TestDomainAndXRayBoundaries(t *testing.T) {
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	for _, domain := range []string{"./internal/todo", "./internal/failover", "./internal/edge", "./internal/lease"} {
		for _, p := range deps(t, root, domain) {
			if strings.HasPrefix(p, "github.com/aws/aws-sdk-go-v2") || strings.HasPrefix(p, "github.com/go-sql-driver/") || p == "net/http" {
				t.Errorf("domain package %s reaches %s", domain, p)
			}
		}
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if strings.Contains(imports, "github.com/aws/aws-xray-sdk-go") && pkg != module+"internal/tracing" {
			t.Errorf("%s imports the X-Ray SDK; only internal/tracing may", pkg)
		}
	}
}
