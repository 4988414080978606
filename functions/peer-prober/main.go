// Command peer-prober is the detector: on a one-minute schedule it probes the peer region's and the
// public endpoint's /health several times and publishes the samples as CloudWatch metrics.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
	"github.com/switchyard-dr/switchyard/internal/failover/httpprobe"
	"github.com/switchyard-dr/switchyard/internal/startup"
)

func main() {
	log := lambdacontext.NewLogger()
	d, cfg, err := awsadapter.Load(context.Background(), os.LookupEnv, config.ProberVars)
	startup.Check(log, "peer-prober", "configuration", err)
	h := &failover.PeerProbe{
		Prober: httpprobe.New(d.ProbeTimeout), Metrics: &awsadapter.ProbeMetrics{CloudWatch: cloudwatch.NewFromConfig(cfg), Namespace: d.MetricNamespace},
		Region: d.Region, PeerAPIURL: d.PeerAPIURL, PublicURL: d.PublicURL, LocalAPIURL: d.LocalAPIURL,
		Samples: d.ProbeSamples, Interval: d.ProbeInterval, Timeout: d.ProbeTimeout,
	}
	lambda.Start(failover.Logged(log, "probe", h.Handle))
}
