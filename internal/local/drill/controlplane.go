package drill

import (
	"context"
	"fmt"
	"time"
)

// ControlPlaneDown takes us-east-1 away for the whole failover: region A's database is killed and
// localcloud's us-east-1 endpoints, which serve the CloudFront and Route 53 control planes as AWS's
// do, stop answering. Region B's orchestrator still promotes its database through us-west-2; its
// traffic step cannot reach CloudFront and the execution fails, as it must. Traffic must move anyway:
// the edge follows the Route 53 data-plane signal (health checks on each region's /health), not the
// distribution, so writes reach B as soon as B's database writes.
const ControlPlaneDown = "control-plane-down"

// controlPlaneRegion is where CloudFront's and Route 53's control planes are served.
const controlPlaneRegion = "us-east-1"

// followBound is how long the edge may take to send writes to the new writer once it writes: the
// signal's health checks (100 ms, threshold 2) plus the edge's 250 ms cache, with room for a loaded
// machine.
const followBound = 5 * time.Second

// controlPlaneDown runs the scenario's fault and waits for the edge to follow the new writer. The
// control planes come back only after that, so nothing it measures could have used them.
func (e *Env) controlPlaneDown(ctx context.Context, rep *ScenarioReport, from, to *Region) (faultAt time.Time, err error) {
	downAt := time.Now()
	e.Cloud.SetRegionDown(controlPlaneRegion, true)
	defer func() {
		e.Cloud.SetRegionDown(controlPlaneRegion, false)
		rep.Phases = append(rep.Phases, Phase{Name: "localcloud " + controlPlaneRegion + " (CloudFront and Route 53 control planes) down", Start: downAt, End: time.Now()})
	}()
	e.progress("fault: localcloud %s down (CloudFront and Route 53 control planes)", controlPlaneRegion)
	pid := from.DB.PID()
	faultAt = time.Now()
	if err := from.DB.Kill(); err != nil {
		return faultAt, err
	}
	rep.Phases = append(rep.Phases, Phase{Name: fmt.Sprintf("SIGKILL %s's mariadbd (pid %d)", from.Name, pid), Start: faultAt, End: time.Now()})
	e.progress("fault: SIGKILL %s's mariadbd (pid %d)", from.Name, pid)

	execErr := e.awaitAlarmExecution(ctx, to, faultAt, 30*time.Second)
	writer, _ := e.Pair.Roles()
	if writer != to.DB {
		return faultAt, fmt.Errorf("%s was not promoted (the execution: %v)", to.Name, execErr)
	}
	if execErr != nil {
		rep.How = append(rep.How, "the orchestrator's explicit origin swap failed, as it must with CloudFront's control plane down: "+execErr.Error())
	} else {
		rep.How = append(rep.How, "the orchestrator's execution succeeded although CloudFront's control plane was down")
	}
	deadline := time.Now().Add(followBound)
	for {
		e.mu.Lock()
		following := e.lastWrites == to.Name
		e.mu.Unlock()
		if following {
			break
		}
		if time.Now().After(deadline) {
			return faultAt, fmt.Errorf("the edge did not send writes to %s within %s of its promotion", to.Name, followBound)
		}
		select {
		case <-ctx.Done():
			return faultAt, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if pinned := e.primary.Load(); pinned != to {
		rep.How = append(rep.How, fmt.Sprintf("the distribution still targets %s: the edge sent writes to %s from the Route 53 signal alone", pinned.Name, to.Name))
	}
	rep.How = append(rep.How, fmt.Sprintf("%s's prober raised the alarm; %s's orchestrator promoted its database through us-west-2 while localcloud's %s was down", to.Name, to.Name, controlPlaneRegion))
	return faultAt, e.waitServing(ctx, to, 10*time.Second)
}

// addFollowPhase puts on the timeline how long the edge took, after the writer changed, to send
// writes to it: from the end of the promotion to the first write the edge routed to the new writer.
func (e *Env) addFollowPhase(rep *ScenarioReport, start time.Time, traffic []trafficEvent) {
	for _, rc := range e.GDB.RoleChanges() {
		if rc.Start.Before(start) || rc.Err != nil {
			continue
		}
		var promoted time.Time
		var writer string
		switch {
		case rc.Switchover != nil:
			sw := rc.Switchover
			promoted, writer = rc.Start.Add(sw.Fence+sw.CatchUp+sw.Promote), sw.NewWriter.Name
		case rc.Failover != nil:
			fo := rc.Failover
			promoted, writer = rc.Start.Add(fo.Fence+fo.Drain+fo.Promote), fo.NewWriter.Name
		default:
			continue
		}
		for _, t := range traffic {
			if t.Region == writer && !t.At.Before(rc.Start) {
				rep.Phases = append(rep.Phases, Phase{Name: "the edge follows the writer: promotion of " + writer + " → first write sent to it", Start: promoted, End: t.At})
				break
			}
		}
	}
}
