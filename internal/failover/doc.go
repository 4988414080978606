// Package failover is the orchestrator's domain: the decision whether and how to make this region the
// writer, the state machine's step handlers, the trigger's input parsing and incident naming, and the
// peer prober's health judgement.
//
// Each region runs its own orchestrator, and a region's state machine only ever activates its own
// region: it makes the local Aurora cluster the global cluster's writer and then points traffic at
// it. Running from the region being activated means an outage of the other region cannot stop it;
// failback is the other region's machine doing a switchover.
//
// The package talks to the world only through the ports in ports.go. It imports no AWS SDK and no
// HTTP server: the adapters in awsadapter and httpprobe implement the ports, and the mains under
// functions/ wire them.
//
// Step handlers return the named error types of errors.go at their boundary: Step Functions sees a
// Go Lambda's error as the Go type name of the returned value, and the state machine's Retry and
// Catch rules match those names.
package failover
