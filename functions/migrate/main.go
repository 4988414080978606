// Command migrate is the Lambda function that applies the schema migrations: invoked directly with
// {"action":"migrate"} or as a CloudFormation custom resource.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/schema/migratehandler"
	"github.com/switchyard-dr/switchyard/internal/startup"
	"github.com/switchyard-dr/switchyard/internal/tracing"
)

func main() {
	ctx := context.Background()
	log := lambdacontext.NewLogger()
	cfg, err := config.MigrateFromEnv()
	startup.Check(log, "migrate", "configuration", err)
	tracer := tracing.New(cfg.Tracing)
	awsCfg, err := db.AWSConfig(ctx, cfg.DB, tracer)
	startup.Check(log, "migrate", "AWS configuration", err)
	pool, err := db.Open(ctx, cfg.DB, db.Deps{AWS: awsCfg, Tracer: tracer})
	startup.Check(log, "migrate", "database", err)
	h := migratehandler.New(pool, nil, log).WithAppUser(db.AppUserSource(awsCfg, cfg.AppSecretARN))
	lambda.Start(h.Handle)
}
