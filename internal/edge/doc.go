// Package edge is the Lambda@Edge origin-request rewrite that lets CloudFront reach API Gateway
// custom domains in either region: it owns the CloudFront event and result types (aws-lambda-go has
// none) and the one rule that sets Host to the origin CloudFront picked for this request.
//
// Why a rewrite: API Gateway answers only for its own domain names, so the viewer's Host
// (api.example.com) must not reach it. The managed origin request policy AllViewerExceptHostHeader
// already solves that when each origin's domain name is also the host it expects. The rewrite is
// needed when the host differs from the domain name CloudFront connects to (a regional custom domain
// reached through its execute-api or load-balancer name), or when the origin is chosen per request and
// the API still needs the viewer's host, which this rewrite hands on as X-Forwarded-Host.
//
// Lambda@Edge has no environment variables, so all configuration travels in the event, as origin
// custom headers set on each origin in the distribution:
//
//   - x-switchyard-origin-host: the host the origin expects, when it is not the origin's domainName;
//   - x-switchyard-region: the origin's region, copied onto the request so the API can trust it.
//
// The rule follows the origin of each event, never a hard-coded host, so a primary, a secondary or an
// origin group's failover origin each get their own Host. Events it cannot rewrite are refused loudly
// rather than passed on broken:
//
//   - an event other than origin-request (Host is read-only in viewer-request events, and response
//     events need a response) is an EventError wrapping ErrWrongTrigger: CloudFront answers 502 and the
//     function's log names the mis-attached trigger;
//   - an origin-request event without exactly one record, without an origin, with an empty custom
//     origin domainName or an empty host override is an EventError wrapping ErrMalformedEvent;
//   - an S3 origin passes unchanged: CloudFront itself sends the bucket's host to S3, so there is
//     nothing to fix and nothing is broken.
//
// The same code runs natively (functions/edge-rewrite, for sam local invoke, tests and the local edge
// proxy) and as WebAssembly inside the Node.js loader that Lambda@Edge runs
// (functions/edge-rewrite/wasm and functions/edge-rewrite/loader, bundled by cmd/edgebundle).
package edge
