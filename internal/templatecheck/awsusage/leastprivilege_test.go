package awsusage_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/templatecheck/awsusage"
)

// leastPrivilege compares in both directions what a function's code calls with what its policy
// allows: missing are calls no statement allows (excused ones aside), extra are allowed actions
// nothing calls. Actions match exactly: allowing one action of a service allows no other, and a
// wildcard is never what the code calls, so it is always extra.
func leastPrivilege(calls []awsusage.Call, allowed map[string]bool, excused func(action string) bool) (missing []awsusage.Call, extra []string) {
	called := map[string]bool{}
	for _, c := range calls {
		called[c.Action] = true
		if excused(c.Action) {
			continue
		}
		if !allowed[c.Action] {
			missing = append(missing, c)
		}
	}
	for a := range allowed {
		if !called[a] {
			extra = append(extra, a)
		}
	}
	sort.Strings(extra)
	return missing, extra
}

// The comparison itself, fed broken policies: each must be caught, in the direction it breaks.
func TestLeastPrivilegeCatchesBrokenPolicies(t *testing.T) {
	calls := []awsusage.Call{
		{Action: "rds:DescribeGlobalClusters", At: "promote.go:10"},
		{Action: "rds:FailoverGlobalCluster", At: "promote.go:20"},
		{Action: "sns:Publish", At: "notify.go:5"},
	}
	exact := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{"Effect": "Allow",
			"Action": []any{"rds:DescribeGlobalClusters", "rds:FailoverGlobalCluster", "sns:Publish"}, "Resource": "*"}},
	}
	allowAll := func(stmts ...any) []any {
		return []any{map[string]any{"Version": "2012-10-17", "Statement": stmts}}
	}
	allow := func(actions ...any) any {
		return map[string]any{"Effect": "Allow", "Action": actions, "Resource": "*"}
	}
	tests := []struct {
		name        string
		policies    []any
		excused     []string
		wantMissing []string
		wantExtra   []string
	}{
		{name: "exact", policies: []any{exact}},
		{name: "one action missing while another of its service is allowed",
			policies:    allowAll(allow("rds:DescribeGlobalClusters", "sns:Publish")),
			wantMissing: []string{"rds:FailoverGlobalCluster"}},
		{name: "a whole service missing",
			policies:    allowAll(allow("rds:DescribeGlobalClusters", "rds:FailoverGlobalCluster")),
			wantMissing: []string{"sns:Publish"}},
		{name: "one action too many",
			policies:  allowAll(allow("rds:DescribeGlobalClusters", "rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster", "sns:Publish")),
			wantExtra: []string{"rds:SwitchoverGlobalCluster"}},
		{name: "broken both ways",
			policies:    allowAll(allow("rds:DescribeGlobalClusters", "rds:DeleteGlobalCluster", "sns:Publish")),
			wantMissing: []string{"rds:FailoverGlobalCluster"}, wantExtra: []string{"rds:DeleteGlobalCluster"}},
		{name: "a service wildcard is no substitute",
			policies:    allowAll(allow("rds:*", "sns:Publish")),
			wantMissing: []string{"rds:DescribeGlobalClusters", "rds:FailoverGlobalCluster"}, wantExtra: []string{"rds:*"}},
		{name: "a Deny allows nothing",
			policies: allowAll(allow("rds:DescribeGlobalClusters", "sns:Publish"),
				map[string]any{"Effect": "Deny", "Action": "rds:FailoverGlobalCluster", "Resource": "*"}),
			wantMissing: []string{"rds:FailoverGlobalCluster"}},
		{name: "both branches of a conditional statement count",
			policies: allowAll(allow("rds:DescribeGlobalClusters", "sns:Publish"),
				map[string]any{"Fn::If": []any{"IsPrimary", allow("rds:FailoverGlobalCluster"), allow("rds:RemoveFromGlobalCluster")}}),
			wantExtra: []string{"rds:RemoveFromGlobalCluster"}},
		{name: "an excused call needs no statement",
			policies: allowAll(allow("rds:DescribeGlobalClusters", "rds:FailoverGlobalCluster")), excused: []string{"sns:Publish"}},
		{name: "an excused call that is allowed is not extra", policies: []any{exact}, excused: []string{"sns:Publish"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allowed, err := policyActions(tt.policies)
			if err != nil {
				t.Fatal(err)
			}
			missing, extra := leastPrivilege(calls, allowed, func(a string) bool { return slices.Contains(tt.excused, a) })
			var gotMissing []string
			for _, c := range missing {
				gotMissing = append(gotMissing, c.Action)
			}
			if strings.Join(gotMissing, ",") != strings.Join(tt.wantMissing, ",") {
				t.Errorf("missing = %v, want %v", gotMissing, tt.wantMissing)
			}
			if strings.Join(extra, ",") != strings.Join(tt.wantExtra, ",") {
				t.Errorf("extra = %v, want %v", extra, tt.wantExtra)
			}
		})
	}
}

// A policy the checker cannot read is refused rather than read as allowing nothing.
func TestPolicyActionsRefusesWhatItCannotCheck(t *testing.T) {
	for name, p := range map[string]any{
		"an undocumented managed policy": "AdministratorAccess",
		"a SAM policy template":          map[string]any{"SNSPublishMessagePolicy": map[string]any{"TopicName": "t"}},
		"a bare number":                  42,
		"an Allow by NotAction": map[string]any{"Version": "2012-10-17", "Statement": []any{
			map[string]any{"Sid": "AllButIAM", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}},
	} {
		if _, err := policyActions([]any{p}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
