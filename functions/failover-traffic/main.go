// Command failover-traffic points the public endpoint at this region (CloudFront origin or Route 53
// record), after checking again that this region writes.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
	"github.com/switchyard-dr/switchyard/internal/lease/dynamolease"
	"github.com/switchyard-dr/switchyard/internal/startup"
)

func main() {
	log := lambdacontext.NewLogger()
	d, cfg, err := awsadapter.Load(context.Background(), os.LookupEnv, config.TrafficVars)
	startup.Check(log, "failover-traffic", "configuration", err)
	lc, err := config.LoadOrchestratorLease(os.LookupEnv)
	var lp dynamolease.OrchestratorPorts
	if err == nil {
		lp, err = dynamolease.ForOrchestrator(cfg, lc)
	}
	startup.Check(log, "failover-traffic", "writer lease", err)
	traffic := awsadapter.NewTrafficSwitch(cfg, d)
	db := &awsadapter.GlobalDatabase{RDS: rds.NewFromConfig(cfg), GlobalClusterID: d.GlobalClusterID}
	lease := lp.Reader
	if lease == nil {
		// No writer lease deployed (LEASE_GRANTORS unset): the fencing token is observed instead.
		lease = &failover.ObservedWriterLease{DB: db, Region: d.Region, LocalClusterARN: d.LocalClusterARN}
	}
	h := &failover.SwapTraffic{DB: db, Traffic: traffic, Lease: lease, Region: d.Region, LocalClusterARN: d.LocalClusterARN, LocalTarget: d.LocalTarget()}
	lambda.Start(failover.Logged(log, "traffic", h.Handle))
}
