package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
	"github.com/switchyard-dr/switchyard/internal/local/rdsproxy"
	"github.com/switchyard-dr/switchyard/internal/local/replication"
	"github.com/switchyard-dr/switchyard/internal/local/signaldns"
)

// Names shared by both regions' configuration.
const (
	globalClusterID = "switchyard-drill"
	distributionID  = "EDRILLSWITCHYARD"
	appDatabase     = "switchyard"
	appUser         = "todo_app"
	// signalName is the active-region signal's TXT record, answered by the local Route 53 stand-in.
	signalName = "_switchyard-signal.drill.switchyard.test"
	// appPassword and replPassword guard servers that listen on 127.0.0.1 for the length of
	// one drill and are then deleted.
	appPassword  = "drill-app-password"
	replPassword = "drill-repl-password"
)

// functions are the deployed functions the drill runs, built from functions/<name>.
var functions = []string{"todo-api", "migrate", "failover-trigger", "failover-preflight", "failover-promote",
	"failover-await", "failover-traffic", "failover-verify", "failover-notify", "peer-prober", "lease-renewer"}

// Region is one of the two regions: its database, its Lambda host and its names in AWS.
type Region struct {
	Name       string // "region-a"
	AWSRegion  string // "us-east-1"
	DB         *mariadb.Server
	Proxy      *rdsproxy.Proxy // the region's RDS Proxy in front of DB
	Host       *lambdahost.Host
	httpAddr   string
	ClusterARN string
	OriginID   string
	Machine    string
	Alarm      string
	// WatchdogAlarm is the template's alarm on the prober's WriterConsistent samples: a reconcile run.
	WatchdogAlarm string
	// tap carries the state machine's invocations to Host, for the fault scenarios.
	tap *stepTap
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
	// DetectionSpeedup compresses the detection path's clock: the prober's schedule and probe
	// interval and the alarm's periods run this many times faster than template.yaml says [20].
	DetectionSpeedup float64
	// LinkCutLead, when positive, cuts the replication link this long before the unplanned
	// scenario kills region A's database, so that the failover has writes to lose.
	LinkCutLead time.Duration
	// RPOMax, when positive, is RPO_MAX for both regions' lease-renewers (the rpo-max scenario).
	RPOMax time.Duration
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
	// caFile is the local RDS Proxy CA, the functions' system trust store (SSL_CERT_FILE).
	caFile string

	edgeLn   net.Listener
	edgeSrv  *http.Server
	signal   *signaldns.Server
	primary  atomic.Pointer[Region] // the origin the distribution's behaviour targets now
	probers  sync.WaitGroup
	stopProb context.CancelFunc
	det      *detection

	// scenarioRuns counts the scenarios run so far; only Run's goroutine touches it.
	scenarioRuns int

	// Every goroutine the environment starts runs under background (derived from Start's
	// context, so a Ctrl-C stops them too) and is counted in tasks; Close cancels and waits.
	background context.Context
	stopTasks  context.CancelFunc
	tasks      sync.WaitGroup

	lease *leaseWorld
	// replLinks[s] is the link replicas reach s's binlog through: the partition cuts it.
	replLinks map[*mariadb.Server]link

	mu         sync.Mutex
	lastWrites string // the region the edge last sent a write to
	traffic    []trafficEvent
	alarms     []alarmEvent
	triggers   []triggerEvent
	steps      []stepEvent
	queued     []queuedEvent
	published  []notice // every SNS message, for the convergence scenarios
	// raceIncidents are the racing scenario's two incidents; only Run's goroutine touches it.
	raceIncidents []string
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
	Region string // the region whose alarm went to ALARM
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
	if opts.DetectionSpeedup <= 0 {
		opts.DetectionSpeedup = 20
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
	e.background, e.stopTasks = context.WithCancel(ctx)
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
	if err := e.startSignal(); err != nil {
		return nil, err
	}
	if err := e.startCloud(); err != nil {
		return nil, err
	}
	if err := e.startProxies(); err != nil {
		return nil, err
	}
	if err := e.startLease(ctx); err != nil {
		return nil, err
	}
	if err := e.setUpDetection(ctx); err != nil {
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
	t = time.Now()
	e.startRenewers()
	if err := e.waitFence(ctx, e.A, 20*time.Second); err != nil {
		return nil, err
	}
	e.progress("writer lease held by %s through a majority of 3 grantors (its table, %s's, the witness's in %s) in %s",
		e.A.Name, e.B.Name, witnessRegion, ms(time.Since(t)))
	e.primary.Store(e.A)
	// The same handler Lambda@Edge runs, reading the signal through the local Route 53 stand-in with
	// a cache scaled down like the health checks (5 s in AWS).
	signals := &edge.SignalCache{Lookup: e.signal.Lookup, TTL: 250 * time.Millisecond, Timeout: 200 * time.Millisecond, MaxStale: 5 * time.Second}
	e.edgeSrv = &http.Server{Handler: &edgeproxy.Proxy{Origin: e.origin, Handler: &edge.Handler{Signals: signals},
		DistributionID: distributionID, OnRoute: e.onRoute}, ReadHeaderTimeout: 5 * time.Second}
	e.goTask(func(context.Context) {
		e.edgeSrv.Serve(e.edgeLn) //nolint:errcheck // ends with ErrServerClosed at Close
	})
	if err := e.waitServing(ctx, e.A, 20*time.Second); err != nil {
		return nil, err
	}
	e.progress("edge %s → %s; localcloud %s", e.EdgeURL(), e.A.Name, e.Cloud.URL())
	e.startDetection()
	return e, nil
}

// freeAddr finds a free loopback port for a listener that starts later (the regions' addresses go
// into the distribution and the relays first). It picks below the kernel's ephemeral range, where
// the ":0" listeners of everything else running (MariaDB, other test packages) never land, so the
// port is still free when the listener binds it.
func freeAddr() (string, error) {
	for range 200 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+rand.IntN(12000)))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		return addr, nil
	}
	return "", errors.New("find a free port: none of 200 tries between 20000 and 32000 was free")
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
	// Each region's binlog is reached by the other's replica through a link a partition can cut.
	e.replLinks = map[*mariadb.Server]link{}
	type hostPort struct {
		host string
		port int
	}
	addrs := map[*mariadb.Server]hostPort{}
	for _, r := range []*Region{e.A, e.B} {
		l, err := newLink(r.Name+" database (replication)", fmt.Sprintf("127.0.0.1:%d", r.DB.Port))
		if err != nil {
			return err
		}
		e.replLinks[r.DB] = l
		u, err := url.Parse(l.URL())
		if err != nil {
			return err
		}
		port, err := strconv.Atoi(u.Port())
		if err != nil {
			return fmt.Errorf("replication link %s: %w", l.URL(), err)
		}
		addrs[r.DB] = hostPort{u.Hostname(), port}
	}
	pair, err := replication.Setup(ctx, e.A.DB, e.B.DB, replication.Options{
		User: "repl", Password: replPassword, Databases: []string{appDatabase}, CatchUpTimeout: 5 * time.Second,
		SourceAddr: func(source *mariadb.Server) (string, int) { return addrs[source].host, addrs[source].port },
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
		Timing: localcloud.Timing{FailoverPending: 50 * time.Millisecond, FailoverPromote: 100 * time.Millisecond, CloudFrontPropagation: 250 * time.Millisecond,
			AlarmSpeedup: e.opts.DetectionSpeedup},
		Traffic: e.onTraffic,
	})
	if err != nil {
		return err
	}
	e.Cloud = cloud
	clusters := map[string]*mariadb.Server{}
	for _, r := range []*Region{e.A, e.B} {
		r.ClusterARN = localcloud.ClusterARN(r.AWSRegion, localcloud.DefaultAccount, "switchyard-"+r.Name)
		r.Machine = cloud.StateMachineARN(r.AWSRegion, "switchyard-failover")
		clusters[r.ClusterARN] = r.DB
		cloud.AddTopic(e.notificationTopic(r))
	}
	// The orchestrator's notices, which the lease scenarios check against what they measured.
	cloud.SubscribeSNS(func(m localcloud.SNSMessage) {
		e.mu.Lock()
		e.published = append(e.published, notice{At: time.Now(), SNSMessage: m})
		e.mu.Unlock()
		if isNotificationTopic(m.TopicARN) {
			e.recordNotice(m.Message)
		}
	})
	e.GDB = NewGlobalDatabase(e.Pair, clusters)
	cloud.AddGlobalCluster(globalClusterID, e.GDB)
	if err := cloud.AddDistribution(distributionID, e.distributionConfig()); err != nil {
		return err
	}
	return nil
}

// notificationTopic is the region's NotificationTopic: the failover's and the alarm's notices.
func (e *Env) notificationTopic(r *Region) string {
	return e.Cloud.TopicARN(r.AWSRegion, "switchyard-notifications")
}

// onTraffic follows the distribution's target once CloudFront has propagated a change: the
// orchestrator's explicit origin swap.
func (e *Env) onTraffic(tc localcloud.TrafficChange) {
	if tc.Service != "cloudfront" || tc.Resource != distributionID {
		return
	}
	for _, r := range []*Region{e.A, e.B} {
		if r.OriginID == tc.Name {
			e.primary.Store(r)
		}
	}
}

// onRoute records when the edge starts sending writes to another region: the data-plane moment
// traffic follows the writer.
func (e *Env) onRoute(method, region string) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return
	}
	name := region
	for _, r := range []*Region{e.A, e.B} {
		if r.AWSRegion == region {
			name = r.Name
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if name != e.lastWrites {
		e.lastWrites = name
		e.traffic = append(e.traffic, trafficEvent{At: time.Now(), Region: name})
	}
}

// startSignal starts the local Route 53 data plane: a writer and a serving health check on each
// region's /health, as the edge stack's health checks do, and the multivalue TXT record set.
func (e *Env) startSignal() error {
	var records []signaldns.Record
	records = append(records, signaldns.Record{Value: edge.SignalSentinel})
	for _, r := range []*Region{e.A, e.B} {
		health := r.apiURL() + "/health"
		records = append(records,
			signaldns.Record{Value: "writer " + r.AWSRegion, Check: &signaldns.Check{URL: health, SearchString: `"role":"writer"`}},
			signaldns.Record{Value: "serving " + r.AWSRegion, Check: &signaldns.Check{URL: health}})
	}
	s, err := signaldns.Start(signaldns.Options{Name: signalName, Records: records, Interval: 100 * time.Millisecond, FailureThreshold: 2, Timeout: 500 * time.Millisecond})
	if err != nil {
		return err
	}
	e.signal = s
	return nil
}

// routing is the routing configuration every origin carries, as in template.yaml.
func (e *Env) routing() map[string]string {
	return map[string]string{
		"X-Switchyard-Regions":         e.A.AWSRegion + "=" + e.A.httpAddr + "," + e.B.AWSRegion + "=" + e.B.httpAddr,
		"X-Switchyard-Signal-Name":     signalName,
		"X-Switchyard-Signal-Resolver": e.signal.Addr(),
	}
}

// origin is the origin the distribution's cache behaviour targets now.
func (e *Env) origin() edge.CustomOrigin {
	return e.customOrigin(e.primary.Load())
}

func (e *Env) customOrigin(r *Region) edge.CustomOrigin {
	_, port, _ := net.SplitHostPort(r.httpAddr)
	n, _ := strconv.Atoi(port)
	headers := edge.Headers{edge.RegionHeader: {{Key: "X-Switchyard-Region", Value: r.AWSRegion}}}
	for name, v := range e.routing() {
		headers[strings.ToLower(name)] = []edge.Header{{Key: name, Value: v}}
	}
	return edge.CustomOrigin{DomainName: "127.0.0.1", Port: n, Protocol: "http", ReadTimeout: 5, KeepaliveTimeout: 5, CustomHeaders: headers}
}

func (e *Env) distributionConfig() []byte {
	origin := func(r *Region) string {
		_, port, _ := net.SplitHostPort(r.httpAddr)
		headers := fmt.Sprintf(`<OriginCustomHeader><HeaderName>X-Switchyard-Region</HeaderName><HeaderValue>%s</HeaderValue></OriginCustomHeader>`, r.AWSRegion)
		routing := e.routing()
		for _, name := range slices.Sorted(maps.Keys(routing)) {
			headers += fmt.Sprintf(`<OriginCustomHeader><HeaderName>%s</HeaderName><HeaderValue>%s</HeaderValue></OriginCustomHeader>`, name, routing[name])
		}
		return fmt.Sprintf(`<Origin><Id>%s</Id><DomainName>127.0.0.1</DomainName><OriginPath></OriginPath>`+
			`<CustomHeaders><Quantity>%d</Quantity><Items>%s</Items></CustomHeaders>`+
			`<CustomOriginConfig><HTTPPort>%s</HTTPPort><HTTPSPort>443</HTTPSPort><OriginProtocolPolicy>http-only</OriginProtocolPolicy>`+
			`<OriginReadTimeout>5</OriginReadTimeout><OriginKeepaliveTimeout>5</OriginKeepaliveTimeout></CustomOriginConfig></Origin>`, r.OriginID, 1+len(routing), headers, port)
	}
	// One behaviour for every method, no origin group (CloudFront refuses one behind writes): the
	// edge function picks the region per request; the target is the orchestrator's explicit choice.
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">
<CallerReference>switchyard-drill</CallerReference>
<Origins><Quantity>2</Quantity><Items>` + origin(e.A) + origin(e.B) + `</Items></Origins>
<DefaultCacheBehavior><TargetOriginId>` + e.A.OriginID + `</TargetOriginId><ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy>
<AllowedMethods><Quantity>7</Quantity><Items><Method>GET</Method><Method>HEAD</Method><Method>OPTIONS</Method><Method>PUT</Method><Method>PATCH</Method><Method>POST</Method><Method>DELETE</Method></Items><CachedMethods><Quantity>2</Quantity><Items><Method>GET</Method><Method>HEAD</Method></Items></CachedMethods></AllowedMethods>
<CachePolicyId>4135ea2d-6df8-44a3-9df3-4b5a84be39ad</CachePolicyId><OriginRequestPolicyId>216adef6-5c7f-47e4-b989-5492eafa07d3</OriginRequestPolicyId></DefaultCacheBehavior>
<Comment>Switchyard drill</Comment><Enabled>true</Enabled>
</DistributionConfig>`)
}

func (e *Env) deployment(r *Region) config.Orchestrator {
	d := config.OrchestratorDefaults()
	d.Region = r.AWSRegion
	d.GlobalClusterID = globalClusterID
	d.LocalClusterARN = r.ClusterARN
	d.PeerAPIURL, d.LocalAPIURL, d.PublicURL = e.peerAPIURL(r), r.apiURL(), e.EdgeURL()
	d.AllowDataLoss = true
	d.MaxLag = drillMaxLag
	d.PromotionTimeout = 30 * time.Second
	d.TrafficMode, d.DistributionID, d.LocalOriginID = "cloudfront", distributionID, r.OriginID
	d.HTTPTimeout = 2 * time.Second
	d.TopicARN = e.notificationTopic(r)
	d.StateMachineARN = r.Machine
	d.AlarmNames = []string{r.Alarm}
	d.ReconcileAlarmNames = []string{r.WatchdogAlarm}
	// The drill runs several incidents within a minute; in AWS the cooldown is half an hour.
	d.Cooldown = 3 * time.Second
	// The prober runs the template's schedule, compressed; its timeout is this machine's latency
	// budget rather than a compressed one, which would be shorter than a loaded machine answers in.
	d.ProbeSamples = e.det.samples
	d.ProbeInterval = time.Duration(float64(e.det.interval) / e.opts.DetectionSpeedup)
	d.ProbeTimeout = min(e.det.timeout, d.ProbeInterval*4/5)
	d.RedriveBackoff = 5 * time.Second
	return d
}

// Drill AWS credentials: the functions sign with them, localcloud and the proxies accept them.
const (
	drillAccessKey = "AKIADRILL"
	drillSecretKey = "drill"
)

// proxyBorrowTimeout is the proxies' ConnectionBorrowTimeout: longer than the API's 1 s query
// deadline, as in AWS (120 s against 3 s), so a request queued through a promotion that takes
// too long is ended by the API's own deadline.
const proxyBorrowTimeout = 2 * time.Second

// startProxies puts a local RDS Proxy in front of each region's database; the functions reach the
// database only through it, with IAM authentication over TLS as deployed.
func (e *Env) startProxies() error {
	ca, err := rdsproxy.NewCA()
	if err != nil {
		return err
	}
	e.caFile = filepath.Join(e.opts.BuildDir, "local-rds-proxy-ca.pem")
	if err := ca.WriteFile(e.caFile); err != nil {
		return err
	}
	for _, r := range []*Region{e.A, e.B} {
		arn := r.ClusterARN
		r.Proxy, err = rdsproxy.Start(rdsproxy.Options{
			Name: r.Name, Region: r.AWSRegion, Backend: net.JoinHostPort("127.0.0.1", strconv.Itoa(r.DB.Port)), CA: ca,
			Users:         []rdsproxy.User{{Name: appUser, Password: appPassword, IAM: true}},
			Credentials:   map[string]string{drillAccessKey: drillSecretKey},
			BorrowTimeout: proxyBorrowTimeout,
			Promoting:     func() bool { return e.GDB.Promoting(arn) },
			OnQueued:      e.onQueued(r.Name),
		})
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
	}
	e.progress("RDS Proxy: %s %s (read-only %s), %s %s (read-only %s); IAM authentication over TLS",
		e.A.Name, e.A.Proxy.ReadWriteEndpoint(), e.A.Proxy.ReadOnlyEndpoint(), e.B.Name, e.B.Proxy.ReadWriteEndpoint(), e.B.Proxy.ReadOnlyEndpoint())
	return nil
}

func (e *Env) startHost(ctx context.Context, r *Region, bins map[string]string) error {
	awsEnv := map[string]string{
		"AWS_ENDPOINT_URL": e.Cloud.URL(), "AWS_ACCESS_KEY_ID": drillAccessKey, "AWS_SECRET_ACCESS_KEY": drillSecretKey,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	dbEnv := r.Proxy.FunctionEnv(appUser, appDatabase, e.caFile)
	maps.Copy(dbEnv, awsEnv)
	dbEnv["DB_QUERY_TIMEOUT"], dbEnv["APP_VERSION"] = "1s", "drill"
	// One key in both regions, as deployed: a cursor handed out before a failover still works after.
	dbEnv["CURSOR_KEY"] = "drill cursor key shared by both regions"
	d := e.deployment(r)
	maps.Copy(awsEnv, d.Env())
	maps.Copy(awsEnv, e.leaseEnv(r))
	cfg := lambdahost.Config{Region: r.AWSRegion, AccountID: localcloud.DefaultAccount, HTTPAddr: r.httpAddr,
		Logger: e.log, FunctionOutput: e.opts.FunctionOutput}
	for _, fn := range functions {
		f := lambdahost.Function{Name: fn, Binary: bins[fn], Timeout: 30 * time.Second, Concurrency: 2, Env: awsEnv}
		switch fn {
		case "todo-api":
			f.Env, f.Timeout, f.Concurrency = maps.Clone(dbEnv), 5*time.Second, 6
			f.Env["WRITER_LEASE"] = "on"
			f.Routes = []lambdahost.Route{{Method: "ANY", Path: "/todos"}, {Method: "ANY", Path: "/todos/{id}"}, {Method: "GET", Path: "/health"}}
		case "migrate":
			f.Env, f.Concurrency = dbEnv, 1
		case "lease-renewer":
			f.Env, f.Timeout = maps.Clone(awsEnv), 10*time.Minute
			maps.Copy(f.Env, dbEnv)
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
	if r.tap, err = newStepTap(h.InvokeURL()); err != nil {
		return err
	}
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
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
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

// goTask runs f on a goroutine owned by the environment: f gets the environment's background
// context, which ends at Close (or with Start's context), and Close waits for f to return.
func (e *Env) goTask(f func(ctx context.Context)) {
	e.tasks.Add(1)
	go func() {
		defer e.tasks.Done()
		f(e.background)
	}()
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

// invokeTarget is r's failover-trigger as an EventBridge rule's target: a delivery fails (and
// localcloud's EventBridge retries it) only when Lambda refuses the invocation, as when its
// service is down; what the function itself answers is recorded in e.triggers.
func (e *Env) invokeTarget(ctx context.Context, r *Region, event []byte) error {
	_, err := e.trigger(ctx, r, event)
	if errors.Is(err, lambdahost.ErrServiceUnavailable) {
		return err
	}
	return nil
}

// Close stops everything the environment started and checks that no process it started is left.
func (e *Env) Close() error {
	var errs []error
	if e.stopTasks != nil {
		e.stopTasks()
	}
	if e.edgeSrv != nil {
		e.edgeSrv.Close()
	} else if e.edgeLn != nil {
		e.edgeLn.Close()
	}
	// Before the hosts and the emulator go: a task may still be talking to them.
	e.tasks.Wait()
	if e.signal != nil {
		errs = append(errs, e.signal.Close())
	}
	if e.lease != nil && e.lease.stop != nil {
		e.lease.stop()
	}
	var pids []int
	for _, r := range []*Region{e.A, e.B} {
		if r != nil && r.tap != nil {
			errs = append(errs, r.tap.Close())
		}
		if r != nil && r.Host != nil {
			pids = append(pids, r.Host.PIDs()...)
			errs = append(errs, r.Host.Close())
		}
	}
	errs = append(errs, e.stopLease())
	if e.Cloud != nil {
		errs = append(errs, e.Cloud.Close())
	}
	for _, r := range []*Region{e.A, e.B} {
		if r != nil && r.Proxy != nil {
			errs = append(errs, r.Proxy.Close())
		}
	}
	if e.Pair != nil {
		e.Pair.Close()
	}
	for _, l := range e.replLinks {
		errs = append(errs, l.Close())
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

// sleep waits for d, or less when ctx ends first (then it returns ctx's error): no wait in the
// drill ignores cancellation.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
