package edge

import (
	"slices"
	"strconv"
	"strings"
)

// Origin custom headers that carry the routing configuration (Lambda@Edge has no environment
// variables). The template sets the same values on every origin, so whichever origin a cache
// behaviour targets carries all of them.
const (
	// RegionsHeader lists every region's origin in order of preference:
	// "us-east-1=abc.execute-api.us-east-1.amazonaws.com,us-west-2=def.execute-api.us-west-2.amazonaws.com".
	RegionsHeader = "x-switchyard-regions"
	// SignalNameHeader names the DNS TXT record that says which regions write and serve.
	SignalNameHeader = "x-switchyard-signal-name"
	// SignalResolverHeader, only in local runs, points the loader's lookup at a DNS server
	// (host:port); absent in AWS, where the function's own resolver answers.
	SignalResolverHeader = "x-switchyard-signal-resolver"
	// OriginSecretHeader is the secret the regional API requires on every request, proving that the
	// request came through the edge. It is the only configuration header sent on to the origin.
	OriginSecretHeader = "x-switchyard-origin-secret"
)

// Values of the signal's TXT strings. The record set is a Route 53 multivalue answer: one string per
// region and role, each with a health check on that region's endpoint, plus SignalSentinel with no
// health check. Route 53 answers only the healthy strings, and answers every string, unhealthy ones
// too, when all of them are unhealthy; the sentinel, always healthy, keeps that from ever happening, so
// an answer without a region's string really means that region failed its health check.
const (
	SignalSentinel = "switchyard-signal v1"
	writerPrefix   = "writer "
	servingPrefix  = "serving "
)

// Signal is the signal record's answer as the loader (or the native lookup) last read it.
type Signal struct {
	// Answers are the TXT strings, each one's chunks joined; empty when no lookup ever succeeded.
	Answers []string `json:"answers"`
	// Error says the last lookup failed; Answers then holds the last good answer, if any.
	Error string `json:"error,omitempty"`
}

// Route is where one request goes and why.
type Route struct {
	Region string
	// Reason is one of the Reason constants.
	Reason string
}

// Reasons for a route, in the order Choose tries them.
const (
	ReasonWriter       = "writer"          // exactly one region writes: all traffic goes there
	ReasonSplitWriters = "several-writers" // more than one writes (should never be): the pinned one, else the first
	ReasonServing      = "no-writer"       // none writes: a region that serves reads, the pinned one first
	ReasonNoSignal     = "no-signal"       // no answer to go by: the pinned origin, as the distribution says
	ReasonNothing      = "nothing-healthy" // no region passes a health check: the pinned origin
)

// Choose picks the region for a request from the signal. regions is the configured order of
// preference; pinned is the region of the origin the distribution targets now (the orchestrator's
// explicit choice). A region the configuration does not list is never chosen, whatever DNS says.
func Choose(regions []string, pinned string, sig Signal) Route {
	if !slices.Contains(sig.Answers, SignalSentinel) {
		return Route{pinned, ReasonNoSignal}
	}
	var writers, serving []string
	for _, r := range regions {
		if slices.Contains(sig.Answers, writerPrefix+r) {
			writers = append(writers, r)
		}
		if slices.Contains(sig.Answers, servingPrefix+r) {
			serving = append(serving, r)
		}
	}
	switch {
	case len(writers) == 1:
		return Route{writers[0], ReasonWriter}
	case len(writers) > 1 && slices.Contains(writers, pinned):
		return Route{pinned, ReasonSplitWriters}
	case len(writers) > 1:
		return Route{writers[0], ReasonSplitWriters}
	case slices.Contains(serving, pinned):
		return Route{pinned, ReasonServing}
	case len(serving) > 0:
		return Route{serving[0], ReasonServing}
	}
	return Route{pinned, ReasonNothing}
}

// regionOrigin is one entry of RegionsHeader. port is 0 unless the entry names one (domain:port),
// which only local stand-ins do: in AWS every API answers on 443.
type regionOrigin struct {
	region, domain string
	port           int
}

// parseRegions reads RegionsHeader; ok is false when an entry is not region=domain[:port].
func parseRegions(v string) (list []regionOrigin, ok bool) {
	for entry := range strings.SplitSeq(v, ",") {
		region, domain, found := strings.Cut(strings.TrimSpace(entry), "=")
		if !found || region == "" || domain == "" || strings.ContainsAny(domain, "/ ") {
			return nil, false
		}
		r := regionOrigin{region: region, domain: domain}
		if host, port, hasPort := strings.Cut(domain, ":"); hasPort {
			n, err := strconv.Atoi(port)
			if err != nil || n < 1 || n > 65535 || host == "" {
				return nil, false
			}
			r.domain, r.port = host, n
		}
		list = append(list, r)
	}
	return list, len(list) > 0
}
