// Command failover-verify writes and reads a canary item through this region's API and the public
// endpoint, asserting that this region serves both.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
	"github.com/switchyard-dr/switchyard/internal/failover/httpprobe"
	"github.com/switchyard-dr/switchyard/internal/startup"
)

func main() {
	log := lambdacontext.NewLogger()
	d, cfg, err := awsadapter.Load(context.Background(), os.LookupEnv, config.VerifyVars)
	startup.Check(log, "failover-verify", "configuration", err)
	prober := httpprobe.New(d.HTTPTimeout)
	prober.Token = (&httpprobe.ClientCredentials{TokenURL: d.CanaryTokenURL, Scope: d.CanaryScope, Client: prober.Client,
		Credentials: awsadapter.ClientSecret(secretsmanager.NewFromConfig(cfg), d.CanaryClientSecretARN)}).Token
	prober.OriginSecret = d.OriginSecret
	h := &failover.Verify{Prober: prober, Region: d.Region, LocalAPIURL: d.LocalAPIURL, PublicURL: d.PublicURL}
	lambda.Start(failover.Logged(log, "verify", h.Handle))
}
