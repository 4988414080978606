// Package todoapi is the ToDo API's Lambda handler for API Gateway HTTP APIs (payload format 2.0):
// routing, request parsing, the mapping from todo error codes to HTTP statuses and RFC 9457 problem
// details, and one JSON log line per request.
//
// Every response carries the serving region in the X-Switchyard-Region header. A write refused because
// this region's database is a read-only replica is 503 with Retry-After and the problem type
// https://switchyard.dev/problems/region-not-writer, which the failover drill and verifier match on.
package todoapi
