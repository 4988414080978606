package localcloud_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// TestCloudFrontRefusesWhatCloudFrontRefuses sends configurations that break one documented
// CloudFront rule each, through the SDK, and expects CloudFront's error code (and, where CloudFront's
// wording is documented, its message) with the distribution unchanged.
func TestCloudFrontRefusesWhatCloudFrontRefuses(t *testing.T) {
	base, err := os.ReadFile("testdata/distribution-config.xml")
	if err != nil {
		t.Fatal(err)
	}
	good := string(base)
	edit := func(old, repl string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("the base config lacks %q", old)
		}
		return strings.Replace(good, old, repl, 1)
	}
	oneHeader := `<CustomHeaders><Quantity>1</Quantity><Items><OriginCustomHeader><HeaderName>X-Origin-Region</HeaderName><HeaderValue>us-east-1</HeaderValue></OriginCustomHeader></Items></CustomHeaders>`
	lambda := func(arn, event string, body bool) string {
		inc := "false"
		if body {
			inc = "true"
		}
		return edit(`<Compress>true</Compress>`, `<Compress>true</Compress><LambdaFunctionAssociations><Quantity>1</Quantity><Items><LambdaFunctionAssociation><LambdaFunctionARN>`+arn+`</LambdaFunctionARN><EventType>`+event+`</EventType><IncludeBody>`+inc+`</IncludeBody></LambdaFunctionAssociation></Items></LambdaFunctionAssociations>`)
	}
	many := "<CustomHeaders><Quantity>11</Quantity><Items>" + strings.Repeat("<OriginCustomHeader><HeaderName>X-A</HeaderName><HeaderValue>1</HeaderValue></OriginCustomHeader>", 11) + "</Items></CustomHeaders>"
	tests := []struct {
		name, config, code, message string
	}{
		{"origin group behind a behavior that allows writes", edit(`<TargetOriginId>east</TargetOriginId>`, `<TargetOriginId>reads</TargetOriginId>`), "InvalidArgument",
			"The parameter AllowedMethods cannot include POST, PUT, PATCH, or DELETE for a cached behavior associated with an origin group."},
		{"allowed methods not one of the three sets", edit(`<Quantity>7</Quantity><Items><Method>GET</Method><Method>HEAD</Method><Method>OPTIONS</Method><Method>PUT</Method><Method>PATCH</Method><Method>POST</Method><Method>DELETE</Method></Items>`, `<Quantity>3</Quantity><Items><Method>GET</Method><Method>HEAD</Method><Method>POST</Method></Items>`), "InvalidArgument", ""},
		{"quantity disagrees with items", edit(`<Origins>
    <Quantity>2</Quantity>`, `<Origins>
    <Quantity>3</Quantity>`), "InconsistentQuantities", "The value of Quantity and the size of Items don't match."},
		{"origin group with one member", edit(`<Members><Quantity>2</Quantity><Items><OriginGroupMember><OriginId>east</OriginId></OriginGroupMember><OriginGroupMember><OriginId>west</OriginId></OriginGroupMember></Items></Members>`, `<Members><Quantity>1</Quantity><Items><OriginGroupMember><OriginId>east</OriginId></OriginGroupMember></Items></Members>`), "InvalidArgument", ""},
		{"eleven custom headers", edit(oneHeader, many), "TooManyOriginCustomHeaders", ""},
		{"Host as a custom header", edit(oneHeader, strings.Replace(oneHeader, "X-Origin-Region", "Host", 1)), "InvalidArgument", ""},
		{"X-Amz- custom header", edit(oneHeader, strings.Replace(oneHeader, "X-Origin-Region", "X-Amz-Secret", 1)), "InvalidArgument", ""},
		{"read timeout over 60", edit(`<OriginReadTimeout>30</OriginReadTimeout>`, `<OriginReadTimeout>61</OriginReadTimeout>`), "InvalidOriginReadTimeout", ""},
		{"keepalive timeout 0", edit(`<OriginKeepaliveTimeout>5</OriginKeepaliveTimeout>`, `<OriginKeepaliveTimeout>0</OriginKeepaliveTimeout>`), "InvalidOriginKeepaliveTimeout", ""},
		{"four connection attempts", edit(`<ConnectionAttempts>3</ConnectionAttempts>`, `<ConnectionAttempts>4</ConnectionAttempts>`), "InvalidArgument", ""},
		{"Lambda@Edge without a version", lambda("arn:aws:lambda:us-east-1:123456789012:function:edge", "origin-request", true), "InvalidLambdaFunctionAssociation",
			"The function ARN must reference a specific function version. (The ARN must end with the version number.)"},
		{"Lambda@Edge $LATEST", lambda("arn:aws:lambda:us-east-1:123456789012:function:edge:$LATEST", "origin-request", true), "InvalidLambdaFunctionAssociation", ""},
		{"Lambda@Edge outside us-east-1", lambda("arn:aws:lambda:us-west-2:123456789012:function:edge:3", "origin-request", true), "InvalidLambdaFunctionAssociation", "us-east-1"},
		{"IncludeBody on origin-response", lambda("arn:aws:lambda:us-east-1:123456789012:function:edge:3", "origin-response", true), "InvalidLambdaFunctionAssociation", "IncludeBody"},
		{"aliases with the default certificate", edit(`<ACMCertificateArn>arn:aws:acm:us-east-1:123456789012:certificate/0b0b0b0b-1111-2222-3333-444444444444</ACMCertificateArn>`, `<CloudFrontDefaultCertificate>true</CloudFrontDefaultCertificate>`), "InvalidViewerCertificate", ""},
		{"ACM certificate outside us-east-1", edit(`arn:aws:acm:us-east-1:`, `arn:aws:acm:eu-west-1:`), "InvalidViewerCertificate", ""},
		{"unknown protocol version", edit(`TLSv1.2_2021`, `TLSv1.2_2099`), "InvalidMinimumProtocolVersion", ""},
	}
	s, c, _ := cloudfrontSetup(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := c.GetDistributionConfig(ctx(t), &cloudfront.GetDistributionConfigInput{Id: aws.String(distributionID)})
			if err != nil {
				t.Fatal(err)
			}
			status, code, message := putConfig(t, s, aws.ToString(before.ETag), tt.config)
			if status < 400 || code != tt.code || (tt.message != "" && !strings.Contains(message, tt.message)) {
				t.Fatalf("got %d %s %q, want %s %q", status, code, message, tt.code, tt.message)
			}
			after, err := c.GetDistributionConfig(ctx(t), &cloudfront.GetDistributionConfigInput{Id: aws.String(distributionID)})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(after.ETag) != aws.ToString(before.ETag) {
				t.Error("a refused update changed the distribution")
			}
			if err := s.AddDistribution("E2REFUSED", []byte(tt.config)); err == nil || !strings.Contains(err.Error(), tt.code) {
				t.Errorf("AddDistribution: got %v, want %s", err, tt.code)
			}
		})
	}
	t.Run("the valid config is accepted", func(t *testing.T) {
		before, _ := c.GetDistributionConfig(ctx(t), &cloudfront.GetDistributionConfigInput{Id: aws.String(distributionID)})
		if status, code, message := putConfig(t, s, aws.ToString(before.ETag), good); status != http.StatusOK {
			t.Fatalf("got %d %s %s", status, code, message)
		}
	})
}

// putConfig sends UpdateDistribution as raw XML (the SDK would refuse some bad shapes itself) and
// returns the status and the error code and message, if any.
func putConfig(t *testing.T, s *localcloud.Server, etag, config string) (status int, code, message string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPut, s.URL()+"/2020-05-31/distribution/"+distributionID+"/config", strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-Match", etag)
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20261129/us-east-1/cloudfront/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 400 {
		if err := xml.Unmarshal(body, &e); err != nil {
			t.Fatalf("error body is not XML: %v\n%s", err, body)
		}
	}
	return resp.StatusCode, e.Code, e.Message
}
