// Package awsadapter implements the failover ports over aws-sdk-go-v2: the Aurora global database
// (RDS and the CloudWatch lag metric), the traffic switch (CloudFront or Route 53), notifications
// (SNS), the prober's metrics (CloudWatch) and the state machine's executions (Step Functions).
//
// Each adapter depends on the smallest interface with the SDK's own method signatures, which the
// real client satisfies (checked at compile time) and tests can point at a local endpoint. SDK
// errors are mapped to the domain's named errors in errors.go, so that the state machine's Retry
// rules see throttling and transient failures by name.
package awsadapter
