// Command failover-promote asks the global database to make this region the writer: a switchover,
// or a failover with AllowDataLoss=true, as it decides itself on fresh facts under its own policy
// (the same rules as preflight; the decision in its input is not trusted).
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
	d, cfg, err := awsadapter.Load(context.Background(), os.LookupEnv, config.PromoteVars)
	startup.Check(log, "failover-promote", "configuration", err)
	lc, err := config.LoadOrchestratorLease(os.LookupEnv)
	var lp dynamolease.OrchestratorPorts
	if err == nil {
		lp, err = dynamolease.ForOrchestrator(cfg, lc)
	}
	startup.Check(log, "failover-promote", "writer lease", err)
	db := &awsadapter.GlobalDatabase{RDS: rds.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg),
		GlobalClusterID: d.GlobalClusterID, LagMetric: d.LagMetric}
	h := &failover.Promote{DB: db, Prober: httpprobe.New(d.ProbeTimeout), Region: d.Region, LocalClusterARN: d.LocalClusterARN,
		PeerAPIURL: d.PeerAPIURL, Policy: failover.Policy{AllowDataLoss: d.AllowDataLoss, MaxLag: d.MaxLag}, Timeout: d.PromotionTimeout,
		Lease: lp.Reader, Taker: lp.Taker, LeaseMargin: lp.Margin, Heartbeat: lp.Heartbeat}
	lambda.Start(failover.Logged(log, "promote", h.Handle))
}
