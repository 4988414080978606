// Command switchyard is the operator's view of a region's failover orchestrator:
//
//	switchyard status                    who writes, where traffic goes, the replication lag, what is
//	                                     inconsistent (a writer without traffic, traffic on a region
//	                                     that does not write, two writers), and the last execution
//	switchyard switchover -reason "..."  planned, lossless activation of this region
//	switchyard failover -reason "..." -acknowledge-data-loss
//	                                     activation with AllowDataLoss=true (the writer's region is down)
//	switchyard reconcile -reason "..."   in the region that writes: point traffic at it and verify;
//	                                     never promotes
//
// switchover, failover and reconcile go through the same checks as the trigger function (this region already
// writes, an execution is running), start this region's state machine, and stream its progress and
// phase timings until it ends. Settings come from the orchestrator's environment variables
// (internal/config) and can be overridden by flags; AWS credentials and endpoints come
// from the usual SDK configuration (profiles, AWS_REGION, AWS_ENDPOINT_URL).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
	"github.com/switchyard-dr/switchyard/internal/failover/httpprobe"
)

const usage = `usage: switchyard status|switchover|failover|reconcile [flags]

  status       who writes, where traffic goes, the replication lag, inconsistencies, the last execution
  switchover   planned activation of this region, no data loss (-reason required)
  failover     activation with data loss while the writer's region is down (-reason and
               -acknowledge-data-loss required)
  reconcile    in the region that writes: move traffic to it and verify; never promotes (-reason required)

Settings default to the orchestrator's environment variables (SWITCHYARD_REGION, GLOBAL_CLUSTER_ID,
LOCAL_CLUSTER_ARN, STATE_MACHINE_ARN, TRAFFIC_MODE, DISTRIBUTION_ID, HOSTED_ZONE_ID, RECORD_NAME, ...).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "switchyard:", err)
		os.Exit(1)
	}
}

// clients are the AWS clients the commands use.
type clients struct {
	db      *awsadapter.GlobalDatabase
	traffic failover.TrafficSwitch
	// prober asks the regions' /health when their URLs are set.
	prober failover.Prober
	sfn    *sfn.Client
	d      config.Orchestrator
}

func run(ctx context.Context, args []string, env config.Lookup, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	cmd := args[0]
	d, _ := config.LoadOrchestrator(env, nil) // defaults and whatever is set; required settings are checked below
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&d.Region, "region", d.Region, "the region whose orchestrator to use (SWITCHYARD_REGION)")
	fs.StringVar(&d.GlobalClusterID, "global-cluster", d.GlobalClusterID, "global cluster identifier (GLOBAL_CLUSTER_ID)")
	fs.StringVar(&d.LocalClusterARN, "cluster", d.LocalClusterARN, "this region's cluster ARN (LOCAL_CLUSTER_ARN)")
	fs.StringVar(&d.StateMachineARN, "state-machine", d.StateMachineARN, "this region's state machine ARN (STATE_MACHINE_ARN)")
	fs.StringVar(&d.TrafficMode, "traffic-mode", d.TrafficMode, "cloudfront or route53 (TRAFFIC_MODE)")
	fs.StringVar(&d.DistributionID, "distribution", d.DistributionID, "CloudFront distribution ID (DISTRIBUTION_ID)")
	fs.StringVar(&d.HostedZoneID, "hosted-zone", d.HostedZoneID, "Route 53 hosted zone ID (HOSTED_ZONE_ID)")
	fs.StringVar(&d.RecordName, "record", d.RecordName, "Route 53 record name (RECORD_NAME)")
	fs.StringVar(&d.LocalOriginID, "origin", d.LocalOriginID, "this region's CloudFront origin ID (LOCAL_ORIGIN_ID)")
	fs.StringVar(&d.LocalRecordValue, "record-value", d.LocalRecordValue, "this region's Route 53 record value (LOCAL_RECORD_VALUE)")
	fs.StringVar(&d.LocalAPIURL, "local-api", d.LocalAPIURL, "this region's API base URL (LOCAL_API_URL)")
	fs.StringVar(&d.PeerAPIURL, "peer-api", d.PeerAPIURL, "the other region's API base URL (PEER_API_URL)")
	reason := fs.String("reason", "", "why (switchover, failover and reconcile; goes into the notification)")
	ack := fs.Bool("acknowledge-data-loss", false, "failover only: accept losing the writes not yet replicated")
	poll := fs.Duration("poll", 2*time.Second, "how often to poll the execution while streaming")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%s: %w\n\n%s", cmd, err, usage)
	}
	var missing []string
	for name, v := range map[string]string{"-region": d.Region, "-global-cluster": d.GlobalClusterID, "-cluster": d.LocalClusterARN, "-state-machine": d.StateMachineARN} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: set %v (or their environment variables)", cmd, missing)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(d.Region))
	if err != nil {
		return fmt.Errorf("load the AWS configuration: %w", err)
	}
	c := &clients{d: d, sfn: sfn.NewFromConfig(cfg),
		db: &awsadapter.GlobalDatabase{RDS: rds.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg), GlobalClusterID: d.GlobalClusterID, LagMetric: d.LagMetric}}
	if d.TrafficMode == "route53" || d.DistributionID != "" {
		c.traffic = awsadapter.NewTrafficSwitch(cfg, d)
	}
	if d.LocalAPIURL != "" && d.PeerAPIURL != "" {
		c.prober = httpprobe.New(d.ProbeTimeout)
	}
	switch cmd {
	case "status":
		return c.status(ctx, out)
	case "switchover", "failover", "reconcile":
		if *reason == "" {
			return fmt.Errorf("%s: -reason is required: it goes into the notification", cmd)
		}
		if cmd == "failover" && !*ack {
			return errors.New("failover: a failover loses the writes not yet replicated: add -acknowledge-data-loss to ask for it, or use switchover while the writer answers")
		}
		return c.activate(ctx, out, failover.Mode(cmd), *reason, *ack, *poll)
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}
