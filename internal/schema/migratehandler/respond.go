package migratehandler

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/config"
)

// responseHost matches the hosts of the pre-signed S3 URLs CloudFormation gives custom resources:
// cloudformation-custom-resource-response-<region without dashes>.s3[.-<region>].amazonaws.com (and
// .com.cn in the China regions). Anything else is not CloudFormation asking.
var responseHost = regexp.MustCompile(`^cloudformation-custom-resource-response-[a-z0-9]+\.s3([.-][a-z0-9-]+)?\.amazonaws\.com(\.cn)?$`)

// Responder sends custom resource responses, only to where CloudFormation can have asked for them.
type Responder struct {
	testHosts []string
	client    *http.Client
	setupErr  error // the test CA could not be used: every response fails with it
}

// NewResponder returns the responder c describes. It does not fail: a problem with the test CA is
// reported by each Send, so that configuration never stops the function from starting.
func NewResponder(c config.CustomResourceResponses) *Responder {
	r := &Responder{testHosts: c.TestHosts}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots, r.setupErr = x509.NewCertPool(), fmt.Errorf("load the system trust store: %w", err)
	}
	if c.TestCAFile != "" {
		pem, err := os.ReadFile(c.TestCAFile)
		if err != nil || !roots.AppendCertsFromPEM(pem) {
			r.setupErr = fmt.Errorf("CFN_RESPONSE_TEST_CA_FILE %s holds no readable PEM certificate", c.TestCAFile)
		}
	}
	r.client = &http.Client{
		Timeout: responseTimeout,
		// A redirect would send the response (and CloudFormation's ids) somewhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: true,
		},
	}
	return r
}

// Check parses a ResponseURL and accepts it only as an HTTPS URL on CloudFormation's response hosts
// (or a configured test host), without user information. Its errors name the host, never the URL,
// whose query is a signature.
func (r *Responder) Check(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("the event has no ResponseURL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("the ResponseURL is not a URL")
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("the ResponseURL's scheme is %q: CloudFormation's pre-signed URLs are https", u.Scheme)
	}
	if u.User != nil {
		return nil, errors.New("the ResponseURL carries user information: CloudFormation's pre-signed URLs never do")
	}
	host := strings.ToLower(u.Host)
	if slices.Contains(r.testHosts, host) {
		return u, nil
	}
	if port := u.Port(); (port != "" && port != "443") || !responseHost.MatchString(strings.ToLower(u.Hostname())) {
		return nil, fmt.Errorf("the ResponseURL's host %q is not one of CloudFormation's custom resource response hosts on amazonaws.com", u.Host)
	}
	return u, nil
}

// Send PUTs body to u (which Check accepted). The reply's body is never read into an error: only its
// status is reported.
func (r *Responder) Send(ctx context.Context, u *url.URL, body []byte) error {
	if r.setupErr != nil {
		return r.setupErr
	}
	// The response must go out even when the invocation's context is already cancelled.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), responseTimeout)
	defer cancel()
	// No Content-Type: the pre-signed S3 URL was signed without one.
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(body))
	if err != nil {
		return errors.New("build the PUT to the ResponseURL")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		// Drop the URL from the message: it carries a signature.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("PUT to %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 3:
		return fmt.Errorf("PUT to %s answered %s: redirects are not followed", u.Host, resp.Status)
	default:
		return fmt.Errorf("PUT to %s answered %s", u.Host, resp.Status)
	}
}

// responseTimeout bounds one response PUT.
const responseTimeout = 4 * time.Second
