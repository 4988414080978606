package awsusage_test

import (
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/templatecheck/awsusage"
)

func TestOperationsFollowsTheCallGraph(t *testing.T) {
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	calls, err := awsusage.Operations(root, "./internal/templatecheck/awsusage/testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range calls {
		got = append(got, c.Action)
		if !strings.Contains(c.At, "main.go:") {
			t.Errorf("%s: location %q does not name the call site", c.Action, c.At)
		}
	}
	want := "rds-db:connect,sns:Publish,states:ListExecutions,states:StartExecution"
	if strings.Join(got, ",") != want {
		t.Errorf("operations = %v, want %s (FailoverGlobalCluster is unreachable)", got, want)
	}
}
