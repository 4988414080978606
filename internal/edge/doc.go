// Package edge is the Lambda@Edge origin-request handler that sends each request to the region that
// writes: it owns the CloudFront event and result types (aws-lambda-go has none), the routing
// decision (Choose) and the request it hands back to CloudFront (RouteRequest).
//
// Why per request: an origin group cannot carry the API's writes (CloudFront refuses one behind a
// behaviour that allows POST, PUT, PATCH or DELETE), and moving the distribution's origin is a
// control-plane call served from us-east-1 that takes minutes to deploy. Instead the handler reads an
// active-region signal on the data plane — a Route 53 multivalue TXT record whose strings ("writer
// <region>", "serving <region>") are answered only while their health checks pass, plus a sentinel —
// and replaces request.origin with the chosen region's origin (CloudFront's dynamic origin selection),
// setting Host to match. The origin the distribution targets is the orchestrator's explicit choice,
// used when the signal gives nothing to go by.
//
// Lambda@Edge has no environment variables, so all configuration travels in the event, as origin
// custom headers set on every origin: x-switchyard-region, x-switchyard-regions (region=domain pairs),
// x-switchyard-signal-name, x-switchyard-origin-secret and, for a regional custom domain shared by
// both regions, x-switchyard-origin-host. Only the secret and the chosen region reach the API.
//
// Events it cannot handle are refused loudly rather than passed on broken (CloudFront answers 502 and
// the function's log names the cause): a trigger other than origin-request (ErrWrongTrigger), an event
// without exactly one record or origin, or a malformed configuration (ErrMalformedEvent), and any
// header value carrying CR, LF or NUL (ErrBadHeader). A viewer never controls X-Forwarded-Host or any
// x-switchyard-* header: the handler removes them and sets its own. S3 origins pass unchanged.
//
// The same code runs natively (functions/edge-rewrite, for sam local invoke, tests and the local edge
// proxy, where a SignalCache does the lookup) and as WebAssembly inside the Node.js loader that
// Lambda@Edge runs (functions/edge-rewrite/wasm and functions/edge-rewrite/loader, bundled by
// cmd/edgebundle), where the loader does the DNS lookup the module cannot and hands the answer over.
package edge
