// Command failover-await polls the global database once: the state machine loops on it until the
// promotion is done or its deadline passes.
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
	d, cfg, err := awsadapter.Load(context.Background(), os.LookupEnv, config.AwaitVars)
	startup.Check(log, "failover-await", "configuration", err)
	db := &awsadapter.GlobalDatabase{RDS: rds.NewFromConfig(cfg), GlobalClusterID: d.GlobalClusterID}
	h := &failover.AwaitPromotion{DB: db, Region: d.Region, LocalClusterARN: d.LocalClusterARN}
	lambda.Start(failover.Logged(log, "await", h.Handle))
}
