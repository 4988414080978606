// Command lease-renewer keeps the writer lease (internal/lease) in its region: it renews it while
// the region's database writes, carries it into the database as the API's write fence and the
// replicated heartbeat, and gives it back when the database is demoted. A schedule starts it every
// minute; each invocation renews for most of two minutes.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/lease"
	"github.com/switchyard-dr/switchyard/internal/lease/dynamolease"
	"github.com/switchyard-dr/switchyard/internal/lease/leasedb"
	"github.com/switchyard-dr/switchyard/internal/tracing"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LeaseRenewerFromEnv()
	exitOn("configuration", err)
	timings := lease.Timings{RenewInterval: cfg.Lease.RenewInterval, TTL: cfg.Lease.TTL, CallTimeout: cfg.Lease.CallTimeout, Margin: cfg.Lease.Margin}
	exitOn("configuration", timings.Validate())
	tracer := tracing.New(cfg.Tracing)
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	exitOn("AWS configuration", err)
	tracer.InstrumentAWS(&awsCfg)
	pools, err := db.OpenPools(ctx, cfg.DB, db.Deps{AWS: &awsCfg, Tracer: tracer})
	exitOn("database", err)
	board, err := dynamolease.LocalBoard(awsCfg, cfg.Lease)
	exitOn("configuration", err)
	r := &lease.Renewer{Region: cfg.Lease.Holder, DB: leasedb.New(pools.ReadWrite, cfg.Lease.CallTimeout).WithReader(pools.ReadOnly),
		Quorum:         &lease.Quorum{Grantors: dynamolease.FromConfig(awsCfg, cfg.Lease.Grantors), Timings: timings},
		PromotionGrace: cfg.Lease.PromotionGrace, Board: board,
		RPOMax: cfg.Lease.RPOMax, Standby: dynamolease.PeerBoards(awsCfg, cfg.Lease)}
	h := &lease.Invocation{Renewer: r, RunFor: cfg.Lease.RunFor, Log: lambdacontext.NewLogger()}
	lambda.Start(h.Handle)
}

// exitOn ends the cold start with the reason: Lambda reports it as Runtime.ExitError with this output.
func exitOn(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "lease-renewer: %s: %v\n", what, err)
		os.Exit(1)
	}
}
