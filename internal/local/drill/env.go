package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/edge"
	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/edgeproxy"
	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/replication"
)

// Names shared by both regions' configuration.
const (
	globalClusterID = "switchyard-drill"
	distributionID  = "EDRILLSWITCHYARD"
	appDatabase     = "switchyard"
	appUser         = "todo_app"
	originGroupID   = "api"
	// appPassword and replPassword guard servers that listen on 127.0.0.1 for the length of
	// one drill and are then deleted.
	appPassword  = "drill-app-password"
	replPassword = "drill-repl-password"
)

// functions are the deployed functions the drill runs, built from functions/<name>.
var functions = []string{"todo-api", "migrate", "failover-trigger", "failover-preflight", "failover-promote",
	"failover-await", "failover-traffic", "failover-verify", "failover-notify"}

// Region is one of the two regions: its database, its Lambda host and its names in AWS.
type Region struct {
	Name       string // "region-a"
	AWSRegion  string // "us-east-1"
	DB         *mariadb.Server
	Host       *lambdahost.Host
	httpAddr   string
	ClusterARN string
	OriginID   string
	Topic      string
	Machine    string
	Alarm      string
}

func (r *Region) apiURL() string { return "http://" + r.httpAddr }

// Options configure a drill environment.
type Options struct {
	// BuildDir receives the functions' binaries; <repo>/.build/drill when empty.
	BuildDir string
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
	// FunctionOutput receives the functions' own logs; nil discards them.
	FunctionOutput io.Writer
	// Load shapes the clients; URL and RunID are set by the drill.
	Load LoadOptions
	// ProbeInterval and ProbeFailures make the detector: the peer's /health is probed every
	// ProbeInterval and the alarm fires after ProbeFailures consecutive failures [250ms, 3].
	ProbeInterval time.Duration
	ProbeFailures int
	// LinkCutLead, when positive, cuts the replication link this long before the unplanned
	// scenario kills region A's database, so that the failover has writes to lose.
	LinkCutLead time.Duration
}

// Env is a running two-region drill environment.
type Env struct {
	opts  Options
	log   *slog.Logger
	A, B  *Region
	Pair  *replication.Pair
	GDB   *GlobalDatabase
	Cloud *localcloud.Server
	runID string

	edgeLn   net.Listener
	edgeSrv  *http.Server
	primary  atomic.Pointer[Region] // where the distribution sends traffic now
	probers  sync.WaitGroup
	stopProb context.CancelFunc

	mu       sync.Mutex
	traffic  []trafficEvent
	alarms   []alarmEvent
	triggers []triggerEvent
	steps    []stepEvent
}

type stepEvent struct {
	At     time.Time
	Region string
	State  string
}

type trafficEvent struct {
	At     time.Time
	Region string
}

type alarmEvent struct {
	At     time.Time
	Region string // the region whose prober raised it
}

type triggerEvent struct {
	At     time.Time
	Region string
	Result string
	Err    error
}

// EdgeURL is the base URL clients use: the local CloudFront distribution.
func (e *Env) EdgeURL() string { return "http://" + e.edgeLn.Addr().String() }

func (e *Env) progress(format string, args ...any) {
	if e.opts.Progress != nil {
		fmt.Fprintf(e.opts.Progress, "  · "+format+"\n", args...)
	}
}

// Preflight checks what the drill needs beyond Go — MariaDB's server binaries, and Node.js 22
// with aws-local-stepfunctions for the state machine — and says what to install.
func Preflight() error {
	var errs []error
	if err := mariadb.Installed(); err != nil {
		errs = append(errs, err)
	}
	if _, err := devtools.Node(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Start brings the environment up: two MariaDB servers replicating, the functions on two Lambda
// hosts, localcloud backed by the pair, the edge proxy and the probers. Close stops all of it.
func Start(ctx context.Context, opts Options) (env *Env, err error) {
	if err := Preflight(); err != nil {
		return nil, err
	}
	if opts.ProbeInterval == 0 {
		opts.ProbeInterval = 250 * time.Millisecond
	}
	if opts.ProbeFailures == 0 {
		opts.ProbeFailures = 3
	}
	if opts.FunctionOutput == nil {
		opts.FunctionOutput = io.Discard
	}
	if opts.BuildDir == "" {
		root, err := devtools.Root()
		if err != nil {
			return nil, err
		}
		opts.BuildDir = filepath.Join(root, ".build", "drill")
	}
	e := &Env{opts: opts, log: slog.New(slog.NewTextHandler(io.Discard, nil)), runID: strconv.FormatInt(time.Now().UnixMilli(), 36)}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	e.A = &Region{Name: "region-a", AWSRegion: "us-east-1", OriginID: "region-a"}
	e.B = &Region{Name: "region-b", AWSRegion: "us-west-2", OriginID: "region-b"}

	t := time.Now()
	bins, err := buildFunctions(ctx, opts.BuildDir)
	if err != nil {
		return nil, err
	}
	e.progress("built %d functions in %s", len(bins), ms(time.Since(t)))

	t = time.Now()
	if err := e.startDatabases(ctx); err != nil {
		return nil, err
	}
	e.progress("MariaDB: %s (pid %d, port %d) writer, %s (pid %d, port %d) GTID replica, in %s",
		e.A.Name, e.A.DB.PID(), e.A.DB.Port, e.B.Name, e.B.DB.PID(), e.B.DB.Port, ms(time.Since(t)))

	if e.edgeLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("edge: listen on 127.0.0.1: %w", err)
	}
	for _, r := range []*Region{e.A, e.B} {
		if r.httpAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	if err := e.startCloud(); err != nil {
		return nil, err
	}
	for _, r := range []*Region{e.A, e.B} {
		if err := e.startHost(ctx, r, bins); err != nil {
			return nil, err
		}
	}
	t = time.Now()
	if err := e.migrate(ctx); err != nil {
		return nil, err
	}
	e.progress("schema migrated through %s's migrate function in %s", e.A.Name, ms(time.Since(t)))
	e.primary.Store(e.A)
	e.edgeSrv = &http.Server{Handler: &edgeproxy.Proxy{Origins: e.origins, DistributionID: distributionID}, ReadHeaderTimeout: 5 * time.Second}
	go e.edgeSrv.Serve(e.edgeLn) //nolint:errcheck // ends with ErrServerClosed at Close
	if err := e.waitServing(ctx, e.A, 20*time.Second); err != nil {
		return nil, err
	}
	e.progress("edge %s → %s; localcloud %s", e.EdgeURL(), e.A.Name, e.Cloud.URL())
	e.startProbers()
	return e, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func buildFunctions(ctx context.Context, dir string) (map[string]string, error) {
	bins := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	sem := make(chan struct{}, 2) // two cores: more parallel links only queue
	for _, fn := range functions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p, err := devtools.BuildFunction(ctx, fn, dir)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			bins[fn] = p
		}()
	}
	wg.Wait()
	return bins, errors.Join(errs...)
}

func (e *Env) startDatabases(ctx context.Context) error {
	var wg sync.WaitGroup
	var errA, errB error
	wg.Add(2)
	go func() {
		defer wg.Done()
		e.A.DB, errA = mariadb.Start(ctx, mariadb.Options{Name: e.A.Name, ServerID: 1})
	}()
	go func() {
		defer wg.Done()
		e.B.DB, errB = mariadb.Start(ctx, mariadb.Options{Name: e.B.Name, ServerID: 2})
	}()
	wg.Wait()
	if err := errors.Join(errA, errB); err != nil {
		return err
	}
	pair, err := replication.Setup(ctx, e.A.DB, e.B.DB, replication.Options{
		User: "repl", Password: replPassword, Databases: []string{appDatabase}, CatchUpTimeout: 5 * time.Second,
	})
	if err != nil {
		return err
	}
	e.Pair = pair
	// Created on the writer only: the database and the account reach the replica by replication.
	if _, err := e.A.DB.CreateApp(ctx, appDatabase, appUser, appPassword); err != nil {
		return err
	}
	return e.waitReplicating(ctx, e.B, 10*time.Second)
}

func (e *Env) startCloud() error {
	cloud, err := localcloud.Start(localcloud.Options{
		// Real promotions take minutes and CloudFront about five: the drill keeps AWS's order of
		// events at a scale a terminal can watch.
		Timing:  localcloud.Timing{FailoverPending: 50 * time.Millisecond, FailoverPromote: 100 * time.Millisecond, CloudFrontPropagation: 250 * time.Millisecond},
		Traffic: e.onTraffic,
	})
	if err != nil {
		return err
	}
	e.Cloud = cloud
	clusters := map[string]*mariadb.Server{}
	for _, r := range []*Region{e.A, e.B} {
		r.ClusterARN = localcloud.ClusterARN(r.AWSRegion, localcloud.DefaultAccount, "switchyard-"+r.Name)
		r.Topic = cloud.TopicARN(r.AWSRegion, "switchyard-alarms")
		r.Machine = cloud.StateMachineARN(r.AWSRegion, "switchyard-failover")
		r.Alarm = "switchyard-peer-unhealthy-" + r.AWSRegion
		clusters[r.ClusterARN] = r.DB
		cloud.AddTopic(r.Topic)
	}
	e.GDB = NewGlobalDatabase(e.Pair, clusters)
	cloud.AddGlobalCluster(globalClusterID, e.GDB)
	if err := cloud.AddDistribution(distributionID, e.distributionConfig()); err != nil {
		return err
	}
	cloud.SubscribeSNS(e.onSNS)
	return nil
}

func (e *Env) onTraffic(tc localcloud.TrafficChange) {
	if tc.Service != "cloudfront" || tc.Resource != distributionID {
		return
	}
	for _, r := range []*Region{e.A, e.B} {
		if r.OriginID == tc.Name {
			e.primary.Store(r)
			e.mu.Lock()
			e.traffic = append(e.traffic, trafficEvent{At: time.Now(), Region: r.Name})
			e.mu.Unlock()
		}
	}
}

// origins is what the distribution's origin group holds now: the primary, then the other.
func (e *Env) origins() []edge.CustomOrigin {
	p := e.primary.Load()
	other := e.B
	if p == e.B {
		other = e.A
	}
	return []edge.CustomOrigin{e.customOrigin(p), e.customOrigin(other)}
}

func (e *Env) customOrigin(r *Region) edge.CustomOrigin {
	_, port, _ := net.SplitHostPort(r.httpAddr)
	n, _ := strconv.Atoi(port)
	return edge.CustomOrigin{
		DomainName: "127.0.0.1", Port: n, Protocol: "http", ReadTimeout: 5, KeepaliveTimeout: 5,
		CustomHeaders: edge.Headers{edge.RegionHeader: {{Key: "X-Switchyard-Region", Value: r.AWSRegion}}},
	}
}

func (e *Env) distributionConfig() []byte {
	origin := func(r *Region) string {
		_, port, _ := net.SplitHostPort(r.httpAddr)
		return fmt.Sprintf(`<Origin><Id>%s</Id><DomainName>127.0.0.1</DomainName><OriginPath></OriginPath>`+
			`<CustomHeaders><Quantity>1</Quantity><Items><OriginCustomHeader><HeaderName>X-Switchyard-Region</HeaderName><HeaderValue>%s</HeaderValue></OriginCustomHeader></Items></CustomHeaders>`+
			`<CustomOriginConfig><HTTPPort>%s</HTTPPort><HTTPSPort>443</HTTPSPort><OriginProtocolPolicy>http-only</OriginProtocolPolicy>`+
			`<OriginReadTimeout>5</OriginReadTimeout><OriginKeepaliveTimeout>5</OriginKeepaliveTimeout></CustomOriginConfig></Origin>`, r.OriginID, r.AWSRegion, port)
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">
<CallerReference>switchyard-drill</CallerReference>
<Origins><Quantity>2</Quantity><Items>` + origin(e.A) + origin(e.B) + `</Items></Origins>
<OriginGroups><Quantity>1</Quantity><Items><OriginGroup><Id>` + originGroupID + `</Id>
<FailoverCriteria><StatusCodes><Quantity>2</Quantity><Items><StatusCode>502</StatusCode><StatusCode>503</StatusCode></Items></StatusCodes></FailoverCriteria>
<Members><Quantity>2</Quantity><Items><OriginGroupMember><OriginId>` + e.A.OriginID + `</OriginId></OriginGroupMember><OriginGroupMember><OriginId>` + e.B.OriginID + `</OriginId></OriginGroupMember></Items></Members>
</OriginGroup></Items></OriginGroups>
<DefaultCacheBehavior><TargetOriginId>` + originGroupID + `</TargetOriginId><ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy>
<CachePolicyId>4135ea2d-6df8-44a3-9df3-4b5a84be39ad</CachePolicyId><OriginRequestPolicyId>b689b0a8-53d0-40ab-baf2-68738e2966ac</OriginRequestPolicyId></DefaultCacheBehavior>
<Comment>Switchyard drill</Comment><Enabled>true</Enabled>
</DistributionConfig>`)
}

func (e *Env) deployment(r *Region) config.Orchestrator {
	peer := e.B
	if r == e.B {
		peer = e.A
	}
	d := config.OrchestratorDefaults()
	d.Region = r.AWSRegion
	d.GlobalClusterID = globalClusterID
	d.LocalClusterARN = r.ClusterARN
	d.PeerAPIURL, d.LocalAPIURL, d.PublicURL = peer.apiURL(), r.apiURL(), e.EdgeURL()
	d.AllowDataLoss = true
	d.PromotionTimeout = 30 * time.Second
	d.TrafficMode, d.DistributionID, d.LocalOriginID = "cloudfront", distributionID, r.OriginID
	d.HTTPTimeout = 2 * time.Second
	d.TopicARN = e.Cloud.TopicARN(r.AWSRegion, "switchyard-notifications")
	d.StateMachineARN = r.Machine
	d.AlarmNames = []string{r.Alarm}
	// The drill runs several incidents within a minute; in AWS the cooldown is half an hour.
	d.Cooldown = 3 * time.Second
	return d
}

func (e *Env) startHost(ctx context.Context, r *Region, bins map[string]string) error {
	dbEnv := map[string]string{
		"DB_AUTH": "dsn", "DB_DSN": r.DB.DSN(appUser, appPassword, appDatabase),
		"DB_QUERY_TIMEOUT": "1s", "APP_VERSION": "drill",
		// One key in both regions, as deployed: a cursor handed out before a failover still works after.
		"CURSOR_KEY": "drill cursor key shared by both regions",
	}
	awsEnv := map[string]string{
		"AWS_ENDPOINT_URL": e.Cloud.URL(), "AWS_ACCESS_KEY_ID": "AKIADRILL", "AWS_SECRET_ACCESS_KEY": "drill",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	d := e.deployment(r)
	maps.Copy(awsEnv, d.Env())
	e.Cloud.AddTopic(d.TopicARN)
	cfg := lambdahost.Config{Region: r.AWSRegion, AccountID: localcloud.DefaultAccount, HTTPAddr: r.httpAddr,
		Logger: e.log, FunctionOutput: e.opts.FunctionOutput}
	for _, fn := range functions {
		f := lambdahost.Function{Name: fn, Binary: bins[fn], Timeout: 30 * time.Second, Concurrency: 2, Env: awsEnv}
		switch fn {
		case "todo-api":
			f.Env, f.Timeout, f.Concurrency = dbEnv, 5*time.Second, 6
			f.Routes = []lambdahost.Route{{Method: "ANY", Path: "/todos"}, {Method: "ANY", Path: "/todos/{id}"}, {Method: "GET", Path: "/health"}}
		case "migrate":
			f.Env, f.Concurrency = dbEnv, 1
		}
		cfg.Functions = append(cfg.Functions, f)
	}
	h, err := lambdahost.New(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	if err := h.Start(ctx); err != nil {
		return fmt.Errorf("%s: start the Lambda host: %w", r.Name, err)
	}
	r.Host = h
	run, err := e.stateMachine(r)
	if err != nil {
		return err
	}
	e.Cloud.AddStateMachine(r.Machine, run)
	return nil
}

func (e *Env) migrate(ctx context.Context) error {
	res, err := e.A.Host.Invoke(ctx, "migrate", []byte(`{"action":"migrate"}`))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if res.FunctionError != nil {
		return fmt.Errorf("migrate: %s: %s", res.FunctionError.Type, res.FunctionError.Message)
	}
	return nil
}

// waitServing waits until the edge answers /health from r.
func (e *Env) waitServing(ctx context.Context, r *Region, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		h, err := getHealth(ctx, e.EdgeURL(), time.Second)
		if err == nil && h.Region == r.AWSRegion {
			return nil
		}
		last = fmt.Sprint(h, err)
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the edge did not serve /health from %s within %v (last: %s)", r.Name, limit, last)
}

type health struct {
	Region, Role, DB string
}

func getHealth(ctx context.Context, base string, timeout time.Duration) (health, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
	if err != nil {
		return health{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return health{}, err
	}
	defer resp.Body.Close()
	var h health
	err = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&h)
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("/health: HTTP %d", resp.StatusCode)
	}
	return h, err
}

// onSNS delivers alarm notifications to the failover-trigger of the topic's region, as an SNS
// subscription of the Lambda function would: asynchronously, as an SNS event.
func (e *Env) onSNS(m localcloud.SNSMessage) {
	var r *Region
	for _, c := range []*Region{e.A, e.B} {
		if m.TopicARN == c.Topic {
			r = c
		}
	}
	if r == nil {
		return
	}
	ev, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": m.TopicARN + ":drill",
		"Sns": map[string]any{"Type": "Notification", "MessageId": m.MessageID, "TopicArn": m.TopicARN,
			"Subject": m.Subject, "Message": m.Message, "Timestamp": time.Now().UTC().Format(time.RFC3339Nano)},
	}}})
	go e.trigger(context.Background(), r, ev)
}

// trigger invokes a region's failover-trigger and records what it answered.
func (e *Env) trigger(ctx context.Context, r *Region, event []byte) (string, error) {
	ev := triggerEvent{At: time.Now(), Region: r.Name}
	res, err := r.Host.Invoke(ctx, "failover-trigger", event)
	switch {
	case err != nil:
		ev.Err = err
	case res.FunctionError != nil:
		ev.Err = fmt.Errorf("failover-trigger: %s: %s", res.FunctionError.Type, res.FunctionError.Message)
	default:
		ev.Result = string(res.Payload)
	}
	e.mu.Lock()
	e.triggers = append(e.triggers, ev)
	e.mu.Unlock()
	return ev.Result, ev.Err
}

// Close stops everything the environment started and checks that no process it started is left.
func (e *Env) Close() error {
	var errs []error
	if e.stopProb != nil {
		e.stopProb()
		e.probers.Wait()
	}
	if e.edgeSrv != nil {
		e.edgeSrv.Close()
	} else if e.edgeLn != nil {
		e.edgeLn.Close()
	}
	var pids []int
	for _, r := range []*Region{e.A, e.B} {
		if r != nil && r.Host != nil {
			pids = append(pids, r.Host.PIDs()...)
			errs = append(errs, r.Host.Close())
		}
	}
	if e.Cloud != nil {
		errs = append(errs, e.Cloud.Close())
	}
	if e.Pair != nil {
		e.Pair.Close()
	}
	for _, r := range []*Region{e.A, e.B} {
		if r != nil && r.DB != nil {
			if pid := r.DB.PID(); pid != 0 {
				pids = append(pids, pid)
			}
			errs = append(errs, r.DB.Close())
		}
	}
	for _, pid := range pids {
		// Signal 0 only asks whether the process still exists.
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			errs = append(errs, fmt.Errorf("process %d started by the drill is still running", pid))
		}
	}
	return errors.Join(errs...)
}
