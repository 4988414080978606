// Command todo-api is the ToDo API Lambda function (API Gateway HTTP API, payload format 2.0).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/startup"
	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/mysqlstore"
	"github.com/switchyard-dr/switchyard/internal/todoapi"
	"github.com/switchyard-dr/switchyard/internal/tracing"
)

func main() {
	ctx := context.Background()
	log := lambdacontext.NewLogger()
	cfg, err := config.TodoAPIFromEnv()
	startup.Check(log, "todo-api", "configuration", err)
	tracer := tracing.New(cfg.Tracing)
	awsCfg, err := db.AWSConfig(ctx, cfg.DB, tracer)
	startup.Check(log, "todo-api", "AWS configuration", err)
	pools, err := db.OpenPools(ctx, cfg.DB, db.Deps{AWS: awsCfg, Tracer: tracer})
	startup.Check(log, "todo-api", "database", err)
	svc := todo.NewService(mysqlstore.New(pools.ReadWrite, cfg.DB.QueryTimeout).WithReadOnly(pools.ReadOnly).WithWriterLease(cfg.LeaseHolder), cfg.CursorKey)
	h := todoapi.New(svc, todoapi.Options{Region: cfg.Region, Version: cfg.Version, Logger: log, OriginSecrets: cfg.OriginSecrets})
	lambda.Start(h.Handle)
}
