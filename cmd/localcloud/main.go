// Command localcloud runs the local AWS emulator (internal/local/localcloud) as a standalone
// endpoint on loopback, so the AWS CLI or any SDK can be pointed at it:
//
//	go run ./cmd/localcloud -addr 127.0.0.1:4566 -seed seed.json
//	AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws --endpoint-url http://127.0.0.1:4566 \
//	    --region us-east-1 cloudwatch describe-alarms
//
// It serves RDS global clusters, SNS, CloudWatch (metrics and alarms), CloudFront, Route 53,
// Step Functions and Secrets Manager. Resources that have no create call in the emulator (topics,
// secrets, hosted zones, global clusters, distributions) come from the seed file or -topic flags;
// see seedFile for its shape. Signatures are not checked, so it listens on loopback only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/switchyard-dr/switchyard/internal/eventjson"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "localcloud:", err)
		}
		os.Exit(2)
	}
}

// seedFile is the -seed file: what exists in the emulated account before the first call.
//
//	{"topics": ["arn:aws:sns:us-east-1:123456789012:alarms"],
//	 "secrets": [{"region": "us-west-2", "name": "canary", "value": "{\"client_id\":\"c\"}"}],
//	 "hostedZones": [{"id": "Z0123456789ABC", "name": "example.com"}],
//	 "globalClusters": [{"id": "switchyard", "writer": "arn:aws:rds:us-east-1:123456789012:cluster:a",
//	                     "secondaries": ["arn:aws:rds:us-west-2:123456789012:cluster:b"]}],
//	 "distributions": [{"id": "E2EXAMPLE", "configFile": "distribution-config.xml"}]}
//
// Global clusters are kept in memory; distributions take a DistributionConfig XML file, relative
// to the seed file.
type seedFile struct {
	Topics  []string `json:"topics"`
	Secrets []struct {
		Region string `json:"region"`
		Name   string `json:"name"`
		Value  string `json:"value"`
	} `json:"secrets"`
	HostedZones []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"hostedZones"`
	GlobalClusters []struct {
		ID          string   `json:"id"`
		Writer      string   `json:"writer"`
		Secondaries []string `json:"secondaries"`
	} `json:"globalClusters"`
	Distributions []struct {
		ID         string `json:"id"`
		ConfigFile string `json:"configFile"`
	} `json:"distributions"`
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// run serves until ctx ends; it returns once the emulator has stopped.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("localcloud", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:4566", "loopback address to listen on")
	seed := fs.String("seed", "", "JSON file of topics, secrets, hosted zones, global clusters and distributions to create at start")
	account := fs.String("account", localcloud.DefaultAccount, "account ID in the ARNs the emulator makes up")
	speedup := fs.Float64("alarm-speedup", 1, "run CloudWatch alarm periods this many times faster than AWS (1 = AWS's pace)")
	var topics stringList
	fs.Var(&topics, "topic", "SNS topic ARN to create (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -h", fs.Args())
	}
	if *speedup < 1 {
		return fmt.Errorf("-alarm-speedup %v: want 1 or more", *speedup)
	}
	var sf seedFile
	if *seed != "" {
		b, err := os.ReadFile(*seed)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if err := eventjson.Unmarshal(b, &sf); err != nil {
			return fmt.Errorf("seed %s: %w (see `go doc ./cmd/localcloud` for its shape)", *seed, err)
		}
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	s, err := localcloud.Start(localcloud.Options{Addr: *addr, Account: *account, Logger: log,
		Timing: localcloud.Timing{AlarmSpeedup: *speedup}})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := apply(s, sf, append(topics, sf.Topics...), filepath.Dir(*seed)); err != nil {
		return err
	}
	s.SubscribeSNS(func(m localcloud.SNSMessage) {
		log.Info("sns message", "topicArn", m.TopicARN, "messageId", m.MessageID, "subject", m.Subject)
	})
	fmt.Fprintf(stdout, "localcloud listening on %s\n"+
		"  AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1\n", s.URL(), s.URL())
	<-ctx.Done()
	return nil
}

func apply(s *localcloud.Server, sf seedFile, topics []string, dir string) error {
	for _, t := range topics {
		if p := strings.Split(t, ":"); len(p) != 6 || p[0] != "arn" || p[2] != "sns" {
			return fmt.Errorf("topic %q is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)", t)
		}
		s.AddTopic(t)
	}
	for _, sec := range sf.Secrets {
		if sec.Region == "" || sec.Name == "" {
			return fmt.Errorf("seed: a secret needs region and name")
		}
		s.AddSecret(sec.Region, sec.Name, sec.Value)
	}
	for _, z := range sf.HostedZones {
		if z.ID == "" || z.Name == "" {
			return fmt.Errorf("seed: a hosted zone needs id and name")
		}
		s.AddHostedZone(z.ID, z.Name)
	}
	for _, gc := range sf.GlobalClusters {
		if gc.ID == "" || gc.Writer == "" {
			return fmt.Errorf("seed: a global cluster needs id and writer (a cluster ARN)")
		}
		s.AddGlobalCluster(gc.ID, localcloud.NewMemoryGlobalDatabase(gc.Writer, gc.Secondaries...))
	}
	for _, d := range sf.Distributions {
		file := d.ConfigFile
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("seed: distribution %s: %w", d.ID, err)
		}
		if err := s.AddDistribution(d.ID, b); err != nil {
			return fmt.Errorf("seed: distribution %s: %w", d.ID, err)
		}
	}
	return nil
}
