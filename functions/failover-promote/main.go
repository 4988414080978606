// Command failover-promote asks the global database to make this region the writer: a switchover,
// or a failover with AllowDataLoss=true, as preflight decided.
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
	"github.com/switchyard-dr/switchyard/internal/startup"
)

func main() {
	log := lambdacontext.NewLogger()
	d, cfg, err := awsadapter.Load(context.Background(), os.LookupEnv, config.PromoteVars)
	startup.Check(log, "failover-promote", "configuration", err)
	db := &awsadapter.GlobalDatabase{RDS: rds.NewFromConfig(cfg), GlobalClusterID: d.GlobalClusterID}
	h := &failover.Promote{DB: db, Region: d.Region, LocalClusterARN: d.LocalClusterARN, Timeout: d.PromotionTimeout}
	lambda.Start(failover.Logged(log, "promote", h.Handle))
}
