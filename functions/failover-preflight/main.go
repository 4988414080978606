// Command failover-preflight is the state machine's first step: it observes the global database,
// this region's cluster, the replication lag and the current writer, and decides.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
	"github.com/switchyard-dr/switchyard/internal/failover/httpprobe"
	"github.com/switchyard-dr/switchyard/internal/lease/dynamolease"
	"github.com/switchyard-dr/switchyard/internal/startup"
)

func main() {
	log := lambdacontext.NewLogger()
	d, cfg, err := awsadapter.Load(context.Background(), os.LookupEnv, config.PreflightVars)
	startup.Check(log, "failover-preflight", "configuration", err)
	lc, err := config.LoadOrchestratorLease(os.LookupEnv)
	var lp dynamolease.OrchestratorPorts
	if err == nil {
		lp, err = dynamolease.ForOrchestrator(cfg, lc)
	}
	startup.Check(log, "failover-preflight", "writer lease", err)
	db := &awsadapter.GlobalDatabase{RDS: rds.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg),
		GlobalClusterID: d.GlobalClusterID, LagMetric: d.LagMetric}
	h := &failover.Preflight{DB: db, Prober: httpprobe.New(d.ProbeTimeout), Region: d.Region,
		LocalClusterARN: d.LocalClusterARN, PeerAPIURL: d.PeerAPIURL,
		Policy: failover.Policy{AllowDataLoss: d.AllowDataLoss, MaxLag: d.MaxLag},
		Lease:  lp.Reader, LeaseMargin: lp.Margin, Heartbeat: lp.Heartbeat}
	lambda.Start(failover.Logged(log, "preflight", h.Handle))
}
