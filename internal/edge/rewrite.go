package edge

import (
	"context"
	"errors"
	"fmt"
	"maps"
)

// Origin custom headers that configure the rewrite, and the request headers it sets.
const (
	// OriginHostHeader on an origin names the host its API expects when that differs from domainName.
	OriginHostHeader = "x-switchyard-origin-host"
	// RegionHeader on an origin names its region; the rewrite copies it onto the request.
	RegionHeader = "x-switchyard-region"
	// TrafficEpochHeader on an origin is the writer lease epoch of the orchestrator's last explicit
	// traffic change (its fencing token), set by the failover traffic step.
	TrafficEpochHeader = "x-switchyard-traffic-epoch"
	// ForwardedHostHeader carries the viewer's Host to the origin.
	ForwardedHostHeader = "x-forwarded-host"
)

var (
	// ErrWrongTrigger: the function is attached to a trigger other than origin-request.
	ErrWrongTrigger = errors.New("the edge rewrite runs on origin-request events only: attach it to the cache behaviour's origin-request trigger")
	// ErrMalformedEvent: the event lacks what every origin-request event carries.
	ErrMalformedEvent = errors.New("malformed origin-request event")
)

// EventError is returned for events the rewrite refuses. CloudFront turns it into a 502 for the
// viewer and logs it under the type name "EventError", so a misconfiguration is never silent.
type EventError struct {
	Err    error
	Detail string
}

func (e *EventError) Error() string { return e.Err.Error() + ": " + e.Detail }
func (e *EventError) Unwrap() error { return e.Err }

func refuse(err error, format string, args ...any) error {
	return &EventError{Err: err, Detail: fmt.Sprintf(format, args...)}
}

// Handle is the Lambda@Edge origin-request handler: the result is the request CloudFront sends on.
func Handle(_ context.Context, ev Event) (*Request, error) {
	req, err := Rewrite(ev)
	if err != nil {
		return nil, err
	}
	return &req, nil
}

// Rewrite returns the event's request with Host set to the host its origin expects, the viewer's
// Host in X-Forwarded-Host and the origin's region header copied on; every other header, the URI,
// the query string, the body and the origin stay as they are. The event itself is not modified.
func Rewrite(ev Event) (Request, error) {
	if len(ev.Records) != 1 {
		return Request{}, refuse(ErrMalformedEvent, "want exactly 1 record, got %d", len(ev.Records))
	}
	cf := ev.Records[0].CF
	if cf.Config.EventType != OriginRequest {
		return Request{}, refuse(ErrWrongTrigger, "got a %q event", cf.Config.EventType)
	}
	req := cf.Request
	switch {
	case req.Origin == nil || (req.Origin.Custom == nil && req.Origin.S3 == nil):
		return Request{}, refuse(ErrMalformedEvent, "the request names no origin")
	case req.Origin.Custom == nil:
		// CloudFront already sends S3 the bucket's own host.
		return req, nil
	}
	origin := req.Origin.Custom
	host, err := originHost(origin)
	if err != nil {
		return Request{}, err
	}

	headers := maps.Clone(req.Headers)
	if headers == nil {
		headers = Headers{}
	}
	if viewerHost, ok := req.Headers.Value("host"); ok && viewerHost != host {
		// Replaces anything the viewer sent, so the origin can trust X-Forwarded-Host.
		headers[ForwardedHostHeader] = []Header{{Key: "X-Forwarded-Host", Value: viewerHost}}
	}
	headers["host"] = []Header{{Key: "Host", Value: host}}
	if region, ok := origin.CustomHeaders.Value(RegionHeader); ok {
		headers[RegionHeader] = []Header{{Key: "X-Switchyard-Region", Value: region}}
	}
	req.Headers = headers
	return req, nil
}

func originHost(origin *CustomOrigin) (string, error) {
	if override, ok := origin.CustomHeaders.Value(OriginHostHeader); ok {
		if override == "" {
			return "", refuse(ErrMalformedEvent, "origin %q has an empty %s custom header: set it to the host its API expects, or remove it to use the domain name",
				origin.DomainName, OriginHostHeader)
		}
		return override, nil
	}
	if origin.DomainName == "" {
		return "", refuse(ErrMalformedEvent, "the custom origin has no domainName")
	}
	return origin.DomainName, nil
}
