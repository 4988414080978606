package templatecheck

import (
	"fmt"
	"slices"
	"strings"
)

// The rules below are what AWS enforces at deploy time or at run time and neither cfn-lint nor the
// SAM translator checks. They read a translated Stack, so Globals and generated resources count.

// Lambda@Edge quotas and restrictions (Lambda@Edge "Restrictions on edge functions" and "Quotas").
var (
	edgeRuntimes = []string{"nodejs18.x", "nodejs20.x", "nodejs22.x",
		"python3.9", "python3.10", "python3.11", "python3.12", "python3.13"}
	// Per event type: the most seconds and MB a function may have.
	edgeTimeout = map[string]float64{"viewer-request": 5, "viewer-response": 5, "origin-request": 30, "origin-response": 30}
	edgeMemory  = map[string]float64{"viewer-request": 128, "viewer-response": 128, "origin-request": 10240, "origin-response": 10240}
)

// writeMethods are the methods CloudFront refuses on a behavior whose target is an origin group.
var writeMethods = []string{"POST", "PUT", "PATCH", "DELETE"}

// Check applies every rule to the stack and returns one error per violation, each naming the stack,
// the resource and what AWS would do.
func Check(s Stack) []error {
	var errs []error
	for _, rule := range []func(Stack) []error{checkEdgeFunctions, checkDistributions, checkProxyReadOnlyEndpoint,
		checkCustomResources, checkFunctionArchitectures} {
		for _, err := range rule(s) {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
		}
	}
	return errs
}

// checkEdgeFunctions follows every Lambda@Edge association to its function.
func checkEdgeFunctions(s Stack) []error {
	var errs []error
	for _, id := range s.OfType("AWS::CloudFront::Distribution") {
		for _, b := range behaviors(s.Resources[id]) {
			for _, a := range list(b["LambdaFunctionAssociations"]) {
				assoc := mapping(a)
				event, _ := assoc["EventType"].(string)
				errs = append(errs, checkEdgeFunction(s, id, event, assoc["LambdaFunctionARN"])...)
			}
		}
	}
	return errs
}

func checkEdgeFunction(s Stack, dist, event string, arn any) []error {
	where := fmt.Sprintf("%s %s function", dist, event)
	version := referencedResource(arn)
	v, ok := s.Resources[version]
	if !ok || v.Type != "AWS::Lambda::Version" {
		return []error{fmt.Errorf("%s: %v is not a numbered version (AWS::Lambda::Version) of this stack: Lambda@Edge needs one, not $LATEST or an alias", where, arn)}
	}
	fnID := referencedResource(v.Properties["FunctionName"])
	fn, ok := s.Resources[fnID]
	if !ok || fn.Type != "AWS::Lambda::Function" {
		return []error{fmt.Errorf("%s: version %s does not belong to a function of this stack", where, version)}
	}
	where = fmt.Sprintf("%s (%s)", where, fnID)
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(where+": "+format, args...)) }
	if s.Region != "us-east-1" {
		fail("the stack is in %s: Lambda@Edge functions must be created in us-east-1", s.Region)
	}
	p := fn.Properties
	if arch := list(p["Architectures"]); len(arch) > 0 && (len(arch) != 1 || arch[0] != "x86_64") {
		fail("Architectures %v: Lambda@Edge runs x86_64 only", arch)
	}
	if rt, _ := p["Runtime"].(string); !slices.Contains(edgeRuntimes, rt) {
		fail("Runtime %q: Lambda@Edge supports only %s", rt, strings.Join(edgeRuntimes, ", "))
	}
	for key, why := range map[string]string{"Environment": "environment variables", "VpcConfig": "a VPC",
		"Layers": "layers", "DeadLetterConfig": "a dead-letter queue", "FileSystemConfigs": "file systems",
		"ImageConfig": "container images", "EphemeralStorage": "ephemeral storage settings"} {
		if _, set := p[key]; set {
			fail("%s is set: Lambda@Edge does not allow %s", key, why)
		}
	}
	if mode := mapping(p["TracingConfig"])["Mode"]; mode != nil && mode != "PassThrough" {
		fail("TracingConfig.Mode %v: Lambda@Edge does not support X-Ray active tracing", mode)
	}
	limit, known := edgeTimeout[event]
	if !known {
		fail("unknown CloudFront event type %q", event)
		return errs
	}
	timeout, ok := number(p["Timeout"])
	if !ok {
		timeout = 3 // Lambda's default
	}
	if timeout > limit {
		fail("Timeout %gs: a %s function may run at most %gs", timeout, event, limit)
	}
	memory, ok := number(p["MemorySize"])
	if !ok {
		memory = 128
	}
	if memory > edgeMemory[event] {
		fail("MemorySize %g MB: a %s function may have at most %g MB", memory, event, edgeMemory[event])
	}
	if !trusts(s, p["Role"], "edgelambda.amazonaws.com") || !trusts(s, p["Role"], "lambda.amazonaws.com") {
		fail("its role is not trusted by both lambda.amazonaws.com and edgelambda.amazonaws.com: CloudFront cannot replicate it")
	}
	return errs
}

// trusts reports whether the role that roleRef points at may be assumed by service.
func trusts(s Stack, roleRef any, service string) bool {
	role, ok := s.Resources[referencedResource(roleRef)]
	if !ok {
		return false
	}
	for _, st := range list(mapping(role.Properties["AssumeRolePolicyDocument"])["Statement"]) {
		m := mapping(st)
		if m["Effect"] != "Allow" {
			continue
		}
		for _, svc := range stringsOf(mapping(m["Principal"])["Service"]) {
			if svc == service {
				return true
			}
		}
	}
	return false
}

// checkDistributions refuses what CloudFront refuses, and the default certificate.
func checkDistributions(s Stack) []error {
	var errs []error
	for _, id := range s.OfType("AWS::CloudFront::Distribution") {
		cfg := mapping(s.Resources[id].Properties["DistributionConfig"])
		groups := map[string]bool{}
		for _, g := range list(mapping(cfg["OriginGroups"])["Items"]) {
			if gid, ok := mapping(g)["Id"].(string); ok {
				groups[gid] = true
			}
		}
		for _, b := range behaviors(s.Resources[id]) {
			target, _ := b["TargetOriginId"].(string)
			if !groups[target] {
				continue
			}
			for _, m := range stringsOf(b["AllowedMethods"]) {
				if slices.Contains(writeMethods, m) {
					errs = append(errs, fmt.Errorf("%s: the behavior for %v targets origin group %s and allows %s: CloudFront answers \"The parameter AllowedMethods cannot include POST, PUT, PATCH, or DELETE for a cached behavior associated with an origin group\"", id, pathPattern(b), target, m))
					break
				}
			}
		}
		vc := mapping(cfg["ViewerCertificate"])
		if vc["CloudFrontDefaultCertificate"] == true || len(stringsOf(cfg["Aliases"])) == 0 {
			errs = append(errs, fmt.Errorf("%s: no alias with its own certificate: CloudFront's default certificate forces the TLSv1 viewer policy", id))
		} else if v, _ := vc["MinimumProtocolVersion"].(string); !strings.HasPrefix(v, "TLSv1.2_") && !strings.HasPrefix(v, "TLSv1.3") {
			errs = append(errs, fmt.Errorf("%s: MinimumProtocolVersion %q: use TLSv1.2_2021 or later", id, v))
		}
	}
	return errs
}

func behaviors(dist Resource) []map[string]any {
	cfg := mapping(dist.Properties["DistributionConfig"])
	out := []map[string]any{mapping(cfg["DefaultCacheBehavior"])}
	for _, b := range list(cfg["CacheBehaviors"]) {
		out = append(out, mapping(b))
	}
	return out
}

func pathPattern(b map[string]any) string {
	if p, ok := b["PathPattern"].(string); ok {
		return p
	}
	return "the default path"
}

// checkProxyReadOnlyEndpoint: a proxy on a global database's secondary cluster has no writer, so the
// region serves reads only through a READ_ONLY endpoint, which the API must be given.
func checkProxyReadOnlyEndpoint(s Stack) []error {
	var errs []error
	api := apiFunction(s)
	for _, proxy := range s.OfType("AWS::RDS::DBProxy") {
		p := s.Resources[proxy].Properties
		var endpoint string
		for _, id := range s.OfType("AWS::RDS::DBProxyEndpoint") {
			e := s.Resources[id].Properties
			if referencedResource(e["DBProxyName"]) != proxy || e["TargetRole"] != "READ_ONLY" {
				continue
			}
			endpoint = id
			if fmt.Sprint(e["VpcSubnetIds"]) != fmt.Sprint(p["VpcSubnetIds"]) || fmt.Sprint(e["VpcSecurityGroupIds"]) != fmt.Sprint(p["VpcSecurityGroupIds"]) {
				errs = append(errs, fmt.Errorf("%s: the read-only endpoint is not in the proxy's subnets and security groups", id))
			}
		}
		if endpoint == "" {
			errs = append(errs, fmt.Errorf("%s has no AWS::RDS::DBProxyEndpoint with TargetRole READ_ONLY: the standby region could not serve reads", proxy))
			continue
		}
		if api == "" {
			errs = append(errs, fmt.Errorf("%s: no function serves the HTTP API, so none reads through %s", proxy, endpoint))
			continue
		}
		env := mapping(mapping(s.Resources[api].Properties["Environment"])["Variables"])
		if !refersTo(env["DB_READ_ONLY_ENDPOINT"], endpoint) {
			errs = append(errs, fmt.Errorf("%s: DB_READ_ONLY_ENDPOINT does not come from %s", api, endpoint))
		}
	}
	if api != "" && len(s.OfType("AWS::RDS::DBProxy")) == 0 {
		env := mapping(mapping(s.Resources[api].Properties["Environment"])["Variables"])
		if v, _ := env["DB_READ_ONLY_ENDPOINT"].(string); v == "" && env["DB_READ_ONLY_ENDPOINT"] == nil {
			errs = append(errs, fmt.Errorf("%s: DB_READ_ONLY_ENDPOINT is not set for the existing proxy", api))
		}
	}
	return errs
}

// apiFunction is the function an HTTP API integration invokes.
func apiFunction(s Stack) string {
	for _, id := range s.OfType("AWS::ApiGatewayV2::Integration") {
		if fn := referencedResource(s.Resources[id].Properties["IntegrationUri"]); fn != "" {
			return fn
		}
	}
	return ""
}

// refersTo reports whether v mentions resource id through Ref or GetAtt, at any depth.
func refersTo(v any, id string) bool {
	switch v := v.(type) {
	case map[string]any:
		if referencedResource(v) == id {
			return true
		}
		for _, x := range v {
			if refersTo(x, id) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if refersTo(x, id) {
				return true
			}
		}
	}
	return false
}

// checkCustomResources: without ServiceTimeout CloudFormation waits an hour for a response that may
// never come.
func checkCustomResources(s Stack) []error {
	var errs []error
	for id, r := range s.Resources {
		if r.Type != "AWS::CloudFormation::CustomResource" && !strings.HasPrefix(r.Type, "Custom::") {
			continue
		}
		t, ok := number(r.Properties["ServiceTimeout"])
		if !ok || t < 1 || t > 3600 {
			errs = append(errs, fmt.Errorf("%s: ServiceTimeout %v: set 1 to 3600 seconds, longer than the function's timeout, or a lost response holds the stack for an hour", id, r.Properties["ServiceTimeout"]))
		}
	}
	return errs
}

// checkFunctionArchitectures: Lambda takes exactly one architecture; SAM Globals append lists, so a
// global list plus a function's own gives two.
func checkFunctionArchitectures(s Stack) []error {
	var errs []error
	for _, id := range s.OfType("AWS::Lambda::Function") {
		if arch := list(s.Resources[id].Properties["Architectures"]); len(arch) > 1 {
			errs = append(errs, fmt.Errorf("%s: Architectures %v: Lambda takes exactly one (a Globals list is appended to the function's own)", id, arch))
		}
	}
	return errs
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// stringsOf reads a string or a list of strings.
func stringsOf(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	var out []string
	for _, x := range list(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
