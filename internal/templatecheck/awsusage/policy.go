package awsusage

import (
	"path"
	"sort"
	"strings"
)

// PolicyGaps is how the actions a role allows differ from the operations its code calls, in both
// directions: least privilege means both lists are empty.
type PolicyGaps struct {
	// Missing are actions the code calls that no allowed action covers: the call fails with AccessDenied.
	Missing []string
	// Excess are allowed actions that cover nothing the code calls, and every wildcard ("dynamodb:*",
	// "rds:Describe*"): a wildcard also grants actions the code never calls, whatever it covers.
	Excess []string
}

// ComparePolicy compares the actions a role allows with the actions its code needs. must are the
// actions the code calls in this configuration; may are actions the role may allow although the code
// does not call them here (a call the configuration never takes, a permission a service checks on the
// caller's behalf). Allowed actions match as IAM matches them: case-insensitively, with * and ?
// wildcards, and only within their own service prefix.
func ComparePolicy(must, may, allowed []string) PolicyGaps {
	var gaps PolicyGaps
	for _, m := range must {
		covered := false
		for _, a := range allowed {
			if actionMatches(a, m) {
				covered = true
				break
			}
		}
		if !covered {
			gaps.Missing = append(gaps.Missing, m)
		}
	}
	for _, a := range allowed {
		if strings.ContainsAny(a, "*?") {
			gaps.Excess = append(gaps.Excess, a)
			continue
		}
		used := false
		for _, n := range append(append([]string{}, must...), may...) {
			if actionMatches(a, n) {
				used = true
				break
			}
		}
		if !used {
			gaps.Excess = append(gaps.Excess, a)
		}
	}
	gaps.Missing = sortedUnique(gaps.Missing)
	gaps.Excess = sortedUnique(gaps.Excess)
	return gaps
}

// actionMatches reports whether the policy action pattern ("rds:Describe*") allows action
// ("rds:DescribeDBClusters"). IAM compares actions case-insensitively; the service prefix is never a
// wildcard match for another service's.
func actionMatches(pattern, action string) bool {
	pSvc, pOp, ok := strings.Cut(strings.ToLower(pattern), ":")
	if !ok {
		return pattern == "*"
	}
	aSvc, aOp, ok := strings.Cut(strings.ToLower(action), ":")
	if !ok || pSvc != aSvc {
		return false
	}
	// Operation names hold neither '/' nor '[' nor '\\', so path.Match's syntax is IAM's * and ? here.
	matched, err := path.Match(pOp, aOp)
	return err == nil && matched
}

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	sort.Strings(s)
	out := s[:1]
	for _, x := range s[1:] {
		if x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}
