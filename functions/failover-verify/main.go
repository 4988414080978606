// Command failover-verify writes and reads a canary item through this region's API and the public
// endpoint, asserting that this region serves both.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/config"
	"github.com/switchyard-dr/switchyard/internal/failover/httpprobe"
)

func main() {
	log := lambdacontext.NewLogger()
	d, err := config.Load(os.Getenv, config.Verify)
	if err != nil {
		log.Error("failover-verify cannot start", "error", err.Error())
		os.Exit(1)
	}
	h := &failover.Verify{Prober: httpprobe.New(d.HTTPTimeout), Region: d.Region, LocalAPIURL: d.LocalAPIURL, PublicURL: d.PublicURL}
	lambda.Start(failover.Logged(log, "verify", h.Handle))
}
