package templatecheck_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/templatecheck"
)

// requireSAMTools fails under CI and skips elsewhere when python3 cannot import cfn-lint and the
// SAM translator: the checks below run on what the translator makes of the template.
func requireSAMTools(t *testing.T) {
	t.Helper()
	err := templatecheck.MissingSAMTools()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI is set and " + err.Error())
	}
	t.Skip(err.Error() + " (set CI=1 to make this a failure)")
}

// repoStacks is every stack of the repository's template, as CloudFormation sees it.
func repoStacks(t *testing.T) []templatecheck.Stack {
	t.Helper()
	requireSAMTools(t)
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	all, err := templatecheck.RepoStacks(root)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func stackNamed(t *testing.T, name string) templatecheck.Stack {
	t.Helper()
	for _, s := range repoStacks(t) {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stack %s", name)
	return templatecheck.Stack{}
}

// Every combination (Role x CreateDatabase x TrafficMode x Jwt, and the edge stacks) and every
// samconfig.toml environment passes the template's Rules section and every deploy-time rule.
func TestEveryStackPassesTheRules(t *testing.T) {
	all := repoStacks(t)
	if len(all) != 2*2*2*2+2+4 {
		t.Errorf("rendered %d stacks, want 22 (16 regional combinations, 2 edge stacks, 4 samconfig environments: primary, secondary, edge, witness)", len(all))
	}
	for _, s := range all {
		for _, err := range templatecheck.Check(s) {
			t.Error(err)
		}
	}
}

// clone deep-copies a stack so that a test can break it.
func clone(t *testing.T, s templatecheck.Stack) templatecheck.Stack {
	t.Helper()
	b, err := json.Marshal(s.Resources)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	out := templatecheck.Stack{Name: s.Name, Region: s.Region, Resources: map[string]templatecheck.Resource{}}
	for id, r := range raw {
		props, _ := r["Properties"].(map[string]any)
		out.Resources[id] = templatecheck.Resource{Type: r["Type"].(string), Properties: props}
	}
	return out
}

func props(s templatecheck.Stack, id string) map[string]any { return s.Resources[id].Properties }

func distConfig(s templatecheck.Stack) map[string]any {
	return props(s, "Distribution")["DistributionConfig"].(map[string]any)
}

func defaultBehavior(s templatecheck.Stack) map[string]any {
	return distConfig(s)["DefaultCacheBehavior"].(map[string]any)
}

func env(s templatecheck.Stack, fn string) map[string]any {
	return props(s, fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
}

// Each rule refuses the template that breaks it, with what AWS would say.
func TestRulesRefuseBrokenStacks(t *testing.T) {
	edgeStack := stackNamed(t, "edge")
	primary := stackNamed(t, "primary-newdb-cloudfront-jwtoff")
	existing := stackNamed(t, "primary-existingdb-cloudfront-jwtoff")
	tests := []struct {
		name   string
		base   templatecheck.Stack
		mutate func(s *templatecheck.Stack)
		want   string
	}{
		{"edge function with two architectures (Globals appended)", edgeStack, func(s *templatecheck.Stack) {
			props(*s, "EdgeRewriteFunction")["Architectures"] = []any{"arm64", "x86_64"}
		}, "Lambda takes exactly one"},
		{"edge function on arm64", edgeStack, func(s *templatecheck.Stack) {
			props(*s, "EdgeRewriteFunction")["Architectures"] = []any{"arm64"}
		}, "x86_64 only"},
		{"edge function on provided.al2023", edgeStack, func(s *templatecheck.Stack) {
			props(*s, "EdgeRewriteFunction")["Runtime"] = "provided.al2023"
		}, "Lambda@Edge supports only"},
		{"edge function with environment", edgeStack, func(s *templatecheck.Stack) {
			props(*s, "EdgeRewriteFunction")["Environment"] = map[string]any{"Variables": map[string]any{"A": "b"}}
		}, "environment variables"},
		{"edge function in a VPC", edgeStack, func(s *templatecheck.Stack) {
			props(*s, "EdgeRewriteFunction")["VpcConfig"] = map[string]any{"SubnetIds": []any{"subnet-1"}}
		}, "a VPC"},
		{"edge function with layers", edgeStack, func(s *templatecheck.Stack) {
			props(*s, "EdgeRewriteFunction")["Layers"] = []any{"arn:aws:lambda:us-east-1:123456789012:layer:x:1"}
		}, "layers"},
		{"edge function traced", edgeStack, func(s *templatecheck.Stack) {
			props(*s, "EdgeRewriteFunction")["TracingConfig"] = map[string]any{"Mode": "Active"}
		}, "X-Ray"},
		{"edge function with a DLQ", edgeStack, func(s *templatecheck.Stack) {
			props(*s, "EdgeRewriteFunction")["DeadLetterConfig"] = map[string]any{"TargetArn": "arn:aws:sqs:us-east-1:123456789012:q"}
		}, "dead-letter queue"},
		{"origin-request timeout over 30 s", edgeStack, func(s *templatecheck.Stack) {
			props(*s, "EdgeRewriteFunction")["Timeout"] = 31
		}, "at most 30s"},
		{"origin-request memory over 10240 MB", edgeStack, func(s *templatecheck.Stack) {
			props(*s, "EdgeRewriteFunction")["MemorySize"] = 10241
		}, "at most 10240 MB"},
		{"viewer-request timeout over 5 s", edgeStack, func(s *templatecheck.Stack) {
			assoc := defaultBehavior(*s)["LambdaFunctionAssociations"].([]any)[0].(map[string]any)
			assoc["EventType"] = "viewer-request"
			props(*s, "EdgeRewriteFunction")["Timeout"] = 6
		}, "at most 5s"},
		{"role not trusted by edgelambda", edgeStack, func(s *templatecheck.Stack) {
			doc := props(*s, "EdgeRewriteFunctionRole")["AssumeRolePolicyDocument"].(map[string]any)
			doc["Statement"].([]any)[0].(map[string]any)["Principal"] = map[string]any{"Service": []any{"lambda.amazonaws.com"}}
		}, "edgelambda.amazonaws.com"},
		{"association to the function, not a version", edgeStack, func(s *templatecheck.Stack) {
			assoc := defaultBehavior(*s)["LambdaFunctionAssociations"].([]any)[0].(map[string]any)
			assoc["LambdaFunctionARN"] = map[string]any{"Fn::GetAtt": []any{"EdgeRewriteFunction", "Arn"}}
		}, "not a numbered version"},
		{"edge stack outside us-east-1", edgeStack, func(s *templatecheck.Stack) {
			s.Region = "us-west-2"
		}, "must be created in us-east-1"},
		{"origin group behind a behavior that allows writes", edgeStack, func(s *templatecheck.Stack) {
			distConfig(*s)["OriginGroups"] = map[string]any{"Quantity": 1, "Items": []any{map[string]any{"Id": "api"}}}
			defaultBehavior(*s)["TargetOriginId"] = "api"
		}, "AllowedMethods cannot include POST, PUT, PATCH, or DELETE"},
		{"CloudFront default certificate", edgeStack, func(s *templatecheck.Stack) {
			delete(distConfig(*s), "Aliases")
			distConfig(*s)["ViewerCertificate"] = map[string]any{"CloudFrontDefaultCertificate": true}
		}, "forces the TLSv1 viewer policy"},
		{"old viewer TLS policy", edgeStack, func(s *templatecheck.Stack) {
			distConfig(*s)["ViewerCertificate"].(map[string]any)["MinimumProtocolVersion"] = "TLSv1"
		}, "TLSv1.2_2021 or later"},
		{"proxy without a read-only endpoint", primary, func(s *templatecheck.Stack) {
			delete(s.Resources, "DatabaseProxyReadOnlyEndpoint")
		}, "no AWS::RDS::DBProxyEndpoint with TargetRole READ_ONLY"},
		{"read-only endpoint outside the proxy's subnets", primary, func(s *templatecheck.Stack) {
			props(*s, "DatabaseProxyReadOnlyEndpoint")["VpcSubnetIds"] = []any{"subnet-other"}
		}, "not in the proxy's subnets"},
		{"read-only endpoint as a READ_WRITE endpoint", primary, func(s *templatecheck.Stack) {
			props(*s, "DatabaseProxyReadOnlyEndpoint")["TargetRole"] = "READ_WRITE"
		}, "no AWS::RDS::DBProxyEndpoint with TargetRole READ_ONLY"},
		{"API not given the read-only endpoint", primary, func(s *templatecheck.Stack) {
			delete(env(*s, "TodoApiFunction"), "DB_READ_ONLY_ENDPOINT")
		}, "DB_READ_ONLY_ENDPOINT does not come from"},
		{"existing proxy without its read-only endpoint", existing, func(s *templatecheck.Stack) {
			delete(env(*s, "TodoApiFunction"), "DB_READ_ONLY_ENDPOINT")
		}, "DB_READ_ONLY_ENDPOINT is not set"},
		{"custom resource without ServiceTimeout", primary, func(s *templatecheck.Stack) {
			delete(props(*s, "SchemaMigration"), "ServiceTimeout")
		}, "ServiceTimeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if errs := templatecheck.Check(clone(t, tc.base)); len(errs) != 0 {
				t.Fatalf("the unbroken stack fails: %v", errs)
			}
			s := clone(t, tc.base)
			tc.mutate(&s)
			errs := templatecheck.Check(s)
			for _, err := range errs {
				if strings.Contains(err.Error(), tc.want) {
					return
				}
			}
			t.Errorf("got %v, want an error containing %q", errs, tc.want)
		})
	}
}

// The Rules section refuses a stack that lacks a value its combination needs, before any change set.
func TestTemplateRulesRefuseMissingValues(t *testing.T) {
	requireSAMTools(t)
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]any{
		"regional": map[string]any{"base": map[string]any{}, "Role": map[string]any{}, "CreateDatabase": map[string]any{},
			"TrafficMode": map[string]any{}, "Jwt": map[string]any{}, "secondaryWithDatabase": map[string]any{}},
		"more": []any{
			map[string]any{"name": "secondary-without-secret-replicas", "region": "us-west-2", "parameters": map[string]any{
				"Role": "secondary", "CreateDatabase": "true", "VpcId": "vpc-0123456789abcdef0", "SubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
				"PeerRegion": "us-east-1", "PeerApiUrl": "https://x.example.com", "PublicUrl": "https://api.example.com", "DistributionId": "E1EXAMPLE",
				"WitnessRegion": "eu-west-1"}},
			map[string]any{"name": "witness-in-a-member-region", "region": "us-east-1", "parameters": map[string]any{
				"Role": "primary", "CreateDatabase": "true", "VpcId": "vpc-0123456789abcdef0", "SubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
				"PeerRegion": "us-west-2", "PeerApiUrl": "https://x.example.com", "PublicUrl": "https://api.example.com", "DistributionId": "E1EXAMPLE",
				"WitnessRegion": "us-west-2"}},
			map[string]any{"name": "edge-in-oregon", "region": "us-west-2", "parameters": map[string]any{
				"Role": "edge", "PrimaryApiDomain": "a.example.com", "SecondaryApiDomain": "b.example.com",
				"PrimaryRegionName": "us-east-1", "SecondaryRegionName": "us-west-2"}},
		},
	}
	b, _ := json.Marshal(spec)
	dir := t.TempDir()
	file := filepath.Join(dir, "stacks.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = templatecheck.RenderStacks(root, filepath.Join(root, "template.yaml"), file, "", filepath.Join(dir, "out"))
	if err == nil {
		t.Fatal("stacks missing required values passed the template's Rules")
	}
	for _, want := range []string{"secondary-without-secret-replicas: rule SecondaryReadsThePrimarysSecretReplicas: The secondary stack needs AdminSecretArn",
		"witness-in-a-member-region: rule RegionalStackNeedsItsNetworkAndPeer: WitnessRegion must differ from both regions",
		"edge-in-oregon: rule EdgeStackNeedsOriginsAndCertificate: The edge stack (Lambda@Edge and its certificate) must be deployed in us-east-1",
		"edge-in-oregon: rule EdgeStackNeedsOriginsAndCertificate: The edge stack needs EdgeAliases"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the rules' report lacks %q:\n%v", want, err)
		}
	}
}

// sam build's function loading (Globals merged by the translator's plugins, then one architecture
// per function) refuses the template that put Architectures in Globals, as the SAM CLI did.
func TestSAMBuildLoadingRefusesGlobalArchitectures(t *testing.T) {
	requireSAMTools(t)
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(b), "Globals:\n  Function:\n", "Globals:\n  Function:\n    Architectures: [arm64]\n", 1)
	if broken == string(b) {
		t.Fatal("template.yaml has no Globals.Function to break")
	}
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	stacksFile := filepath.Join(dir, "stacks.json")
	if err := os.WriteFile(tpl, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := `{"regional": {"base": {}, "Role": {}, "CreateDatabase": {}, "TrafficMode": {}, "Jwt": {}, "secondaryWithDatabase": {}},
	  "more": [{"name": "edge", "region": "us-east-1", "parameters": {"Role": "edge", "PrimaryApiDomain": "a.example.com",
	    "SecondaryApiDomain": "b.example.com", "PrimaryRegionName": "us-east-1", "SecondaryRegionName": "us-west-2",
	    "EdgeAliases": "api.example.com", "EdgeCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"}}]}`
	if err := os.WriteFile(stacksFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", filepath.Join(root, "internal", "templatecheck", "stacks.py"), "--no-translate",
		"--template", tpl, "--stacks", stacksFile, "--out", filepath.Join(dir, "out"))
	out, err := cmd.CombinedOutput()
	if want := "Function EdgeRewriteFunction property Architectures should be a list of length 1"; err == nil || !strings.Contains(string(out), want) {
		t.Errorf("stacks.py: %v\n%s\nwant a failure saying %q", err, out, want)
	}
}
