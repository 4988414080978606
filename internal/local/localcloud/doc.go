// Package localcloud is a local stand-in for the AWS APIs Switchyard calls: RDS global clusters,
// SNS, CloudWatch metrics and alarms, CloudFront distributions, Route 53 records, Step Functions
// executions and Secrets Manager secrets. It speaks the wire protocols AWS serves them in (Query/XML
// for RDS and SNS, REST-XML for CloudFront and Route 53, JSON 1.0 for Step Functions, JSON 1.1 for
// Secrets Manager, and for CloudWatch all three of Smithy RPC v2 CBOR, JSON 1.0 and Query), so
// code under test uses the real SDK clients with only BaseEndpoint changed, and the AWS CLI works
// against it too (cmd/localcloud serves it standalone).
//
// CloudWatch alarms are evaluated on a clock Timing.AlarmSpeedup can compress; their state
// changes go to each region's EventBridge bus (rules added with AddEventRule) and to their SNS
// actions, shaped as AWS sends them.
//
// It models AWS's behaviour, not Switchyard's, and imports nothing from the orchestrator: a test
// that passes against it says something about how the code copes with AWS. Regional endpoints are
// told apart by the SigV4 credential scope of each request, so a region can be taken down (its
// calls get no answer) while the other keeps serving, as in a regional outage.
//
// The work behind the APIs is pluggable: GlobalDatabase backs the Aurora global cluster (in
// memory here; the drill backs it with real MariaDB replication), ExecutionRunner runs Step
// Functions executions, and TrafficHook hears where CloudFront and Route 53 now send traffic.
//
// Faults are injected per operation, named as IAM actions ("rds:SwitchoverGlobalCluster",
// "cloudwatch:PutMetricData", "states:StartExecution"): ThrottleNext answers with the service's
// own throttling error, which the SDK's default retryer retries; FailNext answers with any error
// code; DelayCalls holds calls before serving them. Tools outside the process use the same through
// POST /_localcloud/faults and POST /_localcloud/regions.
//
// Nothing deployed imports this package.
package localcloud
