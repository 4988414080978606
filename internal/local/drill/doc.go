// Package drill runs Switchyard's failover on one machine, as `make drill` shows it: two regions,
// each a private MariaDB server (region B a read-only GTID replica of region A, see
// internal/replication) with the real ToDo API and orchestrator binaries served by its own local
// Lambda host; localcloud standing in for the AWS APIs with its Aurora global cluster backed by
// the MariaDB pair (GlobalDatabase); the edge proxy standing in for CloudFront; and the
// production detection path per region (detection.go): the real peer-prober on the template's
// schedule, compressed, publishing to localcloud's CloudWatch, the template's alarm evaluated
// there, and its state change delivered to the real failover-trigger by the template's
// EventBridge rule pattern.
//
// Clients write and read through the edge with Idempotency-Keys and retries while a scenario
// runs (a planned switchover, an unplanned loss of region A's database, a failback), and every
// acknowledged write is checked against the final writer afterwards: none may be lost except, in
// the unplanned failover, the transactions the GTID gap says never left region A; none may be
// stored twice. Each scenario yields a ScenarioReport with its phases, detection time, RTO and
// request outcomes, printed as a timeline and as a self-contained HTML report.
//
// It is local tooling: nothing deployed imports it.
package drill
