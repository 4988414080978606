package edge

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Origin custom headers that configure the rewrite, and the request headers it sets.
const (
	// OriginHostHeader on an origin names the host its API expects when that differs from domainName.
	OriginHostHeader = "x-switchyard-origin-host"
	// RegionHeader on an origin names its region; the rewrite sets it on the request for the region
	// it chose, so the API and the drill can tell which region served.
	RegionHeader = "x-switchyard-region"
	// TrafficEpochHeader on an origin is the writer lease epoch of the orchestrator's last explicit
	// traffic change (its fencing token), set by the failover traffic step.
	TrafficEpochHeader = "x-switchyard-traffic-epoch"
	// ForwardedHostHeader carries the viewer's Host to the origin.
	ForwardedHostHeader = "x-forwarded-host"
	// configPrefix marks the project's own headers: a viewer's are always removed, so only the
	// edge decides what the origin sees under these names.
	configPrefix = "x-switchyard-"
)

var (
	// ErrWrongTrigger: the function is attached to a trigger other than origin-request.
	ErrWrongTrigger = errors.New("the edge rewrite runs on origin-request events only: attach it to the cache behaviour's origin-request trigger")
	// ErrMalformedEvent: the event lacks what every origin-request event carries.
	ErrMalformedEvent = errors.New("malformed origin-request event")
	// ErrBadHeader: a header value carries CR, LF or NUL, which no HTTP/1.1 origin may receive.
	ErrBadHeader = errors.New("a header value carries CR, LF or NUL: the request is refused rather than passed on")
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

// Signals gives the current signal for a signal record name; the native handler and the local edge
// proxy use a SignalCache, the WebAssembly build gets the signal from its Node.js loader.
type Signals interface {
	Signal(ctx context.Context, name string) Signal
}

// Handler is the Lambda@Edge origin-request handler in its native form.
type Handler struct {
	// Signals is nil when no lookup is wired: every request then goes to the pinned origin.
	Signals Signals
}

// Handle answers one event: the result is the request CloudFront sends on.
func (h *Handler) Handle(ctx context.Context, ev Event) (*Request, error) {
	var sig Signal
	if name := signalName(ev); name != "" && h.Signals != nil {
		sig = h.Signals.Signal(ctx, name)
	}
	req, err := RouteRequest(ev, sig)
	if err != nil {
		return nil, err
	}
	return &req, nil
}

// signalName is the event's SignalNameHeader, "" when absent or malformed.
func signalName(ev Event) string {
	if len(ev.Records) != 1 {
		return ""
	}
	o := ev.Records[0].CF.Request.Origin
	if o == nil || o.Custom == nil {
		return ""
	}
	name, _ := o.Custom.CustomHeaders.Value(SignalNameHeader)
	return name
}

// Rewrite is RouteRequest with no signal: the request stays on the origin the distribution picked.
func Rewrite(ev Event) (Request, error) { return RouteRequest(ev, Signal{}) }

// RouteRequest returns the event's request sent to the region the signal chooses (see Choose) with
// Host set to the host that origin expects, the viewer's Host in X-Forwarded-Host, the chosen region
// in X-Switchyard-Region, and the origin's custom headers reduced to the origin secret and the
// region: the routing configuration never reaches the API. Viewer headers named like the project's
// own, and any viewer X-Forwarded-Host, are removed. The URI, query string and body stay as they
// are; the event itself is not modified.
func RouteRequest(ev Event, sig Signal) (Request, error) {
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
	if err := checkValues(req.Headers, "request"); err != nil {
		return Request{}, err
	}
	if err := checkValues(req.Origin.Custom.CustomHeaders, "origin custom"); err != nil {
		return Request{}, err
	}
	pinned := *req.Origin.Custom
	pinnedRegion, _ := pinned.CustomHeaders.Value(RegionHeader)
	target, host, region, err := chooseOrigin(pinned, pinnedRegion, sig)
	if err != nil {
		return Request{}, err
	}

	headers := make(Headers, len(req.Headers)+2)
	for name, values := range req.Headers {
		if name != ForwardedHostHeader && !strings.HasPrefix(name, configPrefix) {
			headers[name] = values
		}
	}
	if viewerHost, ok := req.Headers.Value("host"); ok && viewerHost != "" {
		headers[ForwardedHostHeader] = []Header{{Key: "X-Forwarded-Host", Value: viewerHost}}
	}
	headers["host"] = []Header{{Key: "Host", Value: host}}
	custom := Headers{}
	if secret, ok := pinned.CustomHeaders[OriginSecretHeader]; ok {
		custom[OriginSecretHeader] = secret
	}
	if region != "" {
		headers[RegionHeader] = []Header{{Key: "X-Switchyard-Region", Value: region}}
		custom[RegionHeader] = []Header{{Key: "X-Switchyard-Region", Value: region}}
	}
	target.CustomHeaders = custom
	req.Headers = headers
	req.Origin = &Origin{Custom: &target}
	return req, nil
}

// chooseOrigin returns the origin to send to, the Host it expects and its region. Without
// RegionsHeader the pinned origin is the only one known.
func chooseOrigin(pinned CustomOrigin, pinnedRegion string, sig Signal) (CustomOrigin, string, string, error) {
	host, err := originHost(&pinned)
	if err != nil {
		return CustomOrigin{}, "", "", err
	}
	v, ok := pinned.CustomHeaders.Value(RegionsHeader)
	if !ok {
		return pinned, host, pinnedRegion, nil
	}
	list, ok := parseRegions(v)
	if !ok {
		return CustomOrigin{}, "", "", refuse(ErrMalformedEvent, "origin %q has %s %q: want region=domain entries separated by commas",
			pinned.DomainName, RegionsHeader, v)
	}
	names := make([]string, len(list))
	for i, r := range list {
		names[i] = r.region
	}
	route := Choose(names, pinnedRegion, sig)
	if route.Region == pinnedRegion {
		return pinned, host, pinnedRegion, nil
	}
	_, override := pinned.CustomHeaders.Value(OriginHostHeader)
	for _, r := range list {
		if r.region == route.Region {
			// Same port, protocol, TLS versions and timeouts as the distribution's origin; only the
			// name changes. Host follows it, so Host and TLS SNI name the same API, unless the
			// regions share one custom domain name (the host override), which every region's API
			// answers for.
			target := pinned
			target.DomainName = r.domain
			if r.port != 0 {
				target.Port = r.port
			}
			if override {
				return target, host, r.region, nil
			}
			return target, r.domain, r.region, nil
		}
	}
	return pinned, host, pinnedRegion, nil
}

// checkValues refuses CR, LF and NUL in any value: an origin would split or truncate the header.
func checkValues(h Headers, what string) error {
	for name, values := range h {
		for _, v := range values {
			if strings.ContainsAny(v.Value, "\r\n\x00") || strings.ContainsAny(v.Key, "\r\n\x00") {
				return refuse(ErrBadHeader, "%s header %q", what, name)
			}
		}
	}
	return nil
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
