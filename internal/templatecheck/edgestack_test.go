package templatecheck_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// The edge stack's distribution, resolved with the parameters a deployment gives it, must be one the
// local CloudFront accepts: the stand-in enforces CloudFront's documented rules for every part of a
// distribution Switchyard touches (origin groups and write methods, method sets, custom headers,
// timeouts, Lambda@Edge versions and region, viewer certificate), so a template that breaks one fails
// here instead of at deploy time. SAM leaves AWS::CloudFront::Distribution as it is; only the
// function version it references comes from the translation, and stands in as a numbered ARN.
func TestEdgeDistributionIsAcceptedByCloudFront(t *testing.T) {
	_, tpl := repoTemplate(t)
	params := map[string]any{
		"Role":                "edge",
		"PrimaryApiDomain":    "api-use1.example.com",
		"SecondaryApiDomain":  "api-usw2.example.com",
		"PrimaryRegionName":   "us-east-1",
		"SecondaryRegionName": "us-west-2",
		"EdgeAliases":         []any{"api.example.com"},
		"EdgeCertificateArn":  "arn:aws:acm:us-east-1:123456789012:certificate/0b0b0b0b-1111-2222-3333-444444444444",
		"OriginSecret":        strings.Repeat("s", 40),
		"SignalHostedZoneId":  "Z0123456789ABC",
		"SignalRecordName":    "_switchyard-signal.example.com",
		"OriginHostOverride":  "api-regional.example.com",
	}
	for name, p := range tpl.Parameters {
		if _, set := params[name]; !set {
			params[name] = p.(map[string]any)["Default"]
		}
	}
	r := &resolver{t: t, params: params, conditions: tpl.Conditions, refs: map[string]any{
		"EdgeRewriteFunction.Version": "arn:aws:lambda:us-east-1:123456789012:function:switchyard-edge-EdgeRewriteFunction:7",
	}}
	dist, ok := tpl.Resources["Distribution"]
	if !ok || dist.Type != "AWS::CloudFront::Distribution" {
		t.Fatal("template.yaml has no Distribution of type AWS::CloudFront::Distribution")
	}
	if !r.condition(dist.Condition) {
		t.Fatalf("the distribution's condition %s is false for an edge stack", dist.Condition)
	}
	config, ok := r.resolve(dist.Properties["DistributionConfig"]).(map[string]any)
	if !ok {
		t.Fatal("DistributionConfig did not resolve to a mapping")
	}
	xml := distributionXML(config)

	cloud, err := localcloud.Start(localcloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cloud.Close() })
	if err := cloud.AddDistribution("ETEMPLATECHECK", []byte(xml)); err != nil {
		t.Fatalf("the local CloudFront refuses the edge stack's distribution: %v\n%s", err, xml)
	}

	// Every origin carries what the edge function reads, and only lower-case names it knows.
	for _, o := range config["Origins"].([]any) {
		origin := o.(map[string]any)
		var names []string
		for _, h := range origin["OriginCustomHeaders"].([]any) {
			names = append(names, h.(map[string]any)["HeaderName"].(string))
		}
		for _, want := range []string{"x-switchyard-region", "x-switchyard-regions", "x-switchyard-signal-name", "x-switchyard-origin-secret"} {
			if !slices.Contains(names, want) {
				t.Errorf("origin %v lacks the custom header %s (has %v)", origin["Id"], want, names)
			}
		}
	}
	if _, group := config["OriginGroups"]; group {
		t.Error("the distribution has an origin group: CloudFront refuses one behind a behaviour that allows writes")
	}
	if v := config["ViewerCertificate"].(map[string]any)["MinimumProtocolVersion"]; v != "TLSv1.2_2021" {
		t.Errorf("viewer MinimumProtocolVersion %v, want TLSv1.2_2021", v)
	}

	t.Run("the old origin-group design is refused", func(t *testing.T) {
		old := strings.Replace(xml, "<DefaultCacheBehavior><TargetOriginId>primary</TargetOriginId>", "<DefaultCacheBehavior><TargetOriginId>api</TargetOriginId>", 1)
		old = strings.Replace(old, "</Origins>", "</Origins><OriginGroups><Quantity>1</Quantity><Items><OriginGroup><Id>api</Id>"+
			"<FailoverCriteria><StatusCodes><Quantity>1</Quantity><Items><StatusCode>503</StatusCode></Items></StatusCodes></FailoverCriteria>"+
			"<Members><Quantity>2</Quantity><Items><OriginGroupMember><OriginId>primary</OriginId></OriginGroupMember><OriginGroupMember><OriginId>secondary</OriginId></OriginGroupMember></Items></Members>"+
			"</OriginGroup></Items></OriginGroups>", 1)
		err := cloud.AddDistribution("ETEMPLATEOLD", []byte(old))
		if err == nil || !strings.Contains(err.Error(), "cannot include POST, PUT, PATCH, or DELETE for a cached behavior associated with an origin group") {
			t.Fatalf("got %v, want CloudFront's origin-group refusal", err)
		}
	})
}

// noValue stands for AWS::NoValue until the enclosing list or mapping drops it.
type noValue struct{}

// resolver evaluates the intrinsic functions the edge stack's distribution uses.
type resolver struct {
	t          *testing.T
	params     map[string]any
	conditions map[string]any
	refs       map[string]any
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

func (r *resolver) resolve(v any) any {
	switch v := v.(type) {
	case []any:
		var out []any
		for _, e := range v {
			if x := r.resolve(e); x != (noValue{}) {
				out = append(out, x)
			}
		}
		return out
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				switch k {
				case "Ref":
					return r.ref(arg.(string))
				case "Fn::If":
					a := arg.([]any)
					if r.condition(a[0].(string)) {
						return r.resolve(a[1])
					}
					return r.resolve(a[2])
				case "Fn::Sub":
					return subVar.ReplaceAllStringFunc(arg.(string), func(m string) string {
						return fmt.Sprint(r.ref(m[2 : len(m)-1]))
					})
				case "Fn::Join":
					a := arg.([]any)
					var parts []string
					for _, p := range r.resolve(a[1]).([]any) {
						parts = append(parts, fmt.Sprint(p))
					}
					return strings.Join(parts, a[0].(string))
				}
			}
		}
		out := map[string]any{}
		for k, e := range v {
			if x := r.resolve(e); x != (noValue{}) {
				out[k] = x
			}
		}
		return out
	}
	return v
}

func (r *resolver) ref(name string) any {
	if name == "AWS::NoValue" {
		return noValue{}
	}
	if v, ok := r.params[name]; ok {
		return v
	}
	if v, ok := r.refs[name]; ok {
		return v
	}
	r.t.Fatalf("the distribution refers to %s, which this check does not resolve", name)
	return nil
}

func (r *resolver) condition(name string) bool {
	if name == "" {
		return true
	}
	c, ok := r.conditions[name]
	if !ok {
		r.t.Fatalf("no condition %s", name)
	}
	return r.truth(c)
}

func (r *resolver) truth(v any) bool {
	m := v.(map[string]any)
	for k, arg := range m {
		switch k {
		case "Condition":
			return r.condition(arg.(string))
		case "Fn::Equals":
			a := arg.([]any)
			return fmt.Sprint(r.resolve(a[0])) == fmt.Sprint(r.resolve(a[1]))
		case "Fn::Not":
			return !r.truth(arg.([]any)[0])
		case "Fn::And":
			for _, c := range arg.([]any) {
				if !r.truth(c) {
					return false
				}
			}
			return true
		case "Fn::Or":
			for _, c := range arg.([]any) {
				if r.truth(c) {
					return true
				}
			}
			return false
		}
	}
	r.t.Fatalf("condition %v is not one this check evaluates", v)
	return false
}

// distributionXML writes a resolved CloudFormation DistributionConfig as the CloudFront API's XML.
func distributionXML(c map[string]any) string {
	var b strings.Builder
	el := func(name string, v any) {
		if v != nil {
			fmt.Fprintf(&b, "<%s>%v</%s>", name, v, name)
		}
	}
	list := func(name, item string, items []any, each func(any)) {
		fmt.Fprintf(&b, "<%s><Quantity>%d</Quantity>", name, len(items))
		if len(items) > 0 {
			b.WriteString("<Items>")
			for _, it := range items {
				if each == nil {
					el(item, it)
					continue
				}
				fmt.Fprintf(&b, "<%s>", item)
				each(it)
				fmt.Fprintf(&b, "</%s>", item)
			}
			b.WriteString("</Items>")
		}
		fmt.Fprintf(&b, "</%s>", name)
	}
	items := func(v any) []any { s, _ := v.([]any); return s }
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">`)
	el("CallerReference", "switchyard-template-check")
	list("Aliases", "CNAME", items(c["Aliases"]), nil)
	list("Origins", "Origin", items(c["Origins"]), func(v any) {
		o := v.(map[string]any)
		el("Id", o["Id"])
		el("DomainName", o["DomainName"])
		el("OriginPath", "")
		list("CustomHeaders", "OriginCustomHeader", items(o["OriginCustomHeaders"]), func(v any) {
			h := v.(map[string]any)
			el("HeaderName", h["HeaderName"])
			el("HeaderValue", h["HeaderValue"])
		})
		if co, ok := o["CustomOriginConfig"].(map[string]any); ok {
			b.WriteString("<CustomOriginConfig>")
			el("HTTPPort", orDefault(co["HTTPPort"], 80))
			el("HTTPSPort", orDefault(co["HTTPSPort"], 443))
			el("OriginProtocolPolicy", co["OriginProtocolPolicy"])
			list("OriginSslProtocols", "SslProtocol", items(co["OriginSSLProtocols"]), nil)
			el("OriginReadTimeout", orDefault(co["OriginReadTimeout"], 30))
			el("OriginKeepaliveTimeout", orDefault(co["OriginKeepaliveTimeout"], 5))
			b.WriteString("</CustomOriginConfig>")
		}
		el("ConnectionAttempts", orDefault(o["ConnectionAttempts"], 3))
		el("ConnectionTimeout", orDefault(o["ConnectionTimeout"], 10))
	})
	behavior := func(d map[string]any) {
		el("PathPattern", d["PathPattern"])
		el("TargetOriginId", d["TargetOriginId"])
		el("ViewerProtocolPolicy", d["ViewerProtocolPolicy"])
		if m := items(d["AllowedMethods"]); m != nil {
			fmt.Fprintf(&b, "<AllowedMethods><Quantity>%d</Quantity><Items>", len(m))
			for _, x := range m {
				el("Method", x)
			}
			b.WriteString("</Items>")
			list("CachedMethods", "Method", items(d["CachedMethods"]), nil)
			b.WriteString("</AllowedMethods>")
		}
		el("CachePolicyId", d["CachePolicyId"])
		el("OriginRequestPolicyId", d["OriginRequestPolicyId"])
		list("LambdaFunctionAssociations", "LambdaFunctionAssociation", items(d["LambdaFunctionAssociations"]), func(v any) {
			a := v.(map[string]any)
			el("LambdaFunctionARN", a["LambdaFunctionARN"])
			el("EventType", a["EventType"])
			el("IncludeBody", orDefault(a["IncludeBody"], false))
		})
	}
	b.WriteString("<DefaultCacheBehavior>")
	behavior(c["DefaultCacheBehavior"].(map[string]any))
	b.WriteString("</DefaultCacheBehavior>")
	if cbs := items(c["CacheBehaviors"]); cbs != nil {
		list("CacheBehaviors", "CacheBehavior", cbs, func(v any) { behavior(v.(map[string]any)) })
	}
	el("Comment", c["Comment"])
	if vc, ok := c["ViewerCertificate"].(map[string]any); ok {
		b.WriteString("<ViewerCertificate>")
		el("CloudFrontDefaultCertificate", vc["CloudFrontDefaultCertificate"])
		el("ACMCertificateArn", vc["AcmCertificateArn"])
		el("SSLSupportMethod", vc["SslSupportMethod"])
		el("MinimumProtocolVersion", vc["MinimumProtocolVersion"])
		b.WriteString("</ViewerCertificate>")
	}
	el("Enabled", c["Enabled"])
	el("HttpVersion", c["HttpVersion"])
	b.WriteString("</DistributionConfig>")
	return b.String()
}

func orDefault(v, fallback any) any {
	if v == nil {
		return fallback
	}
	return v
}
