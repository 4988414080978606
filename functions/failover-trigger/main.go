// Command failover-trigger starts this region's state machine for an ALARM of a configured alarm
// (SNS or EventBridge) or a manual request, once per incident, and re-drives the incident's run,
// bounded and with backoff, when an execution fails or is aborted.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
	"github.com/switchyard-dr/switchyard/internal/startup"
)

func main() {
	log := lambdacontext.NewLogger()
	d, cfg, err := awsadapter.Load(context.Background(), os.LookupEnv, config.TriggerVars)
	startup.Check(log, "failover-trigger", "configuration", err)
	h := &failover.Trigger{
		Executions: &awsadapter.Executions{SFN: sfn.NewFromConfig(cfg), StateMachineARN: d.StateMachineARN},
		Region:     d.Region, AccountID: failover.ARNAccount(d.StateMachineARN), AlarmNames: d.AlarmNames, ReconcileAlarmNames: d.ReconcileAlarmNames, Cooldown: d.Cooldown, Log: log,
		StateMachineARN: d.StateMachineARN, MaxRedrives: d.RedriveMax, RedriveBackoff: d.RedriveBackoff,
	}
	lambda.Start(failover.Logged(log, "trigger", h.Handle))
}
