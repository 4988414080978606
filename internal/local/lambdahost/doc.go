// Package lambdahost runs Lambda functions' real `bootstrap` binaries on this machine the way the
// Lambda service runs them, without Docker: each execution environment is a child process that
// talks to its own Runtime API listener on 127.0.0.1, so main.go wiring, environment
// configuration and `lambda.Start` run exactly as deployed.
//
// A Host serves three faces of Lambda on loopback:
//
//   - the Runtime API (2018-06-01) that each bootstrap process polls for invocations;
//   - the Lambda API's Invoke (`POST /2015-03-31/functions/{name or ARN}/invocations`, with
//     LogType Tail and Event invocations retried as Lambda retries them), GetFunction and
//     GetFunctionConfiguration, so aws-sdk-go-v2's Lambda client, aws-local-stepfunctions and the
//     AWS CLI reach the functions through a custom endpoint;
//   - an API Gateway HTTP API emulation that turns plain HTTP requests into payload-format 2.0
//     events for the function owning the matching route, and the function's answer back into HTTP.
//
// Processes are started on demand up to each function's concurrency, reused while warm, stopped
// when idle, and killed when an invocation outlives the function's timeout. Everything hangs off
// one Host value, so two hosts (two regions of the drill) can share a process.
//
// It is a local stand-in for the Lambda service: nothing deployed imports it.
package lambdahost
