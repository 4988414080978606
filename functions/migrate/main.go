// Command migrate is the Lambda function that applies the schema migrations: invoked directly with
// {"action":"migrate"} or as a CloudFormation custom resource.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/schema/migratehandler"
	"github.com/switchyard-dr/switchyard/internal/tracing"
)

func main() {
	ctx := context.Background()
	cfg, err := config.MigrateFromEnv()
	exitOn("configuration", err)
	tracer := tracing.New(cfg.Tracing)
	awsCfg, err := db.AWSConfig(ctx, cfg.DB, tracer)
	exitOn("AWS configuration", err)
	pool, err := db.Open(ctx, cfg.DB, db.Deps{AWS: awsCfg, Tracer: tracer})
	exitOn("database", err)
	h := migratehandler.New(pool, nil, lambdacontext.NewLogger()).WithAppUser(db.AppUserSource(awsCfg, cfg.AppSecretARN))
	lambda.Start(h.Handle)
}

// exitOn ends the cold start with the reason: Lambda reports it as Runtime.ExitError with this output.
func exitOn(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "migrate: %s: %v\n", what, err)
		os.Exit(1)
	}
}
