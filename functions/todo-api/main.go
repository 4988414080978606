// Command todo-api is the ToDo API Lambda function (API Gateway HTTP API, payload format 2.0).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/mysqlstore"
	"github.com/switchyard-dr/switchyard/internal/todoapi"
	"github.com/switchyard-dr/switchyard/internal/tracing"
)

func main() {
	ctx := context.Background()
	cfg, err := config.TodoAPIFromEnv()
	exitOn("configuration", err)
	tracer := tracing.New(cfg.Tracing)
	awsCfg, err := db.AWSConfig(ctx, cfg.DB, tracer)
	exitOn("AWS configuration", err)
	pool, err := db.Open(ctx, cfg.DB, db.Deps{AWS: awsCfg, Tracer: tracer})
	exitOn("database", err)
	svc := todo.NewService(mysqlstore.New(pool, cfg.DB.QueryTimeout), cfg.CursorKey)
	h := todoapi.New(svc, todoapi.Options{Region: cfg.Region, Version: cfg.Version, Logger: lambdacontext.NewLogger()})
	lambda.Start(h.Handle)
}

// exitOn ends the cold start with the reason: Lambda reports it as Runtime.ExitError with this output.
func exitOn(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "todo-api: %s: %v\n", what, err)
		os.Exit(1)
	}
}
