package localcloud

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// DefaultAccount is the account ID in the ARNs the emulator makes up.
const DefaultAccount = "123456789012"

// Timing sets how long the emulated asynchronous work takes. Zero values take the defaults,
// which are short enough for tests; the drill stretches them to show the timeline.
type Timing struct {
	// FailoverPending is how long FailoverState stays "pending" before the promotion starts.
	FailoverPending time.Duration
	// FailoverPromote is the least time FailoverState spends "switching-over" or
	// "failing-over"; a backend that takes longer extends it.
	FailoverPromote time.Duration
	// CloudFrontPropagation is how long a distribution stays "InProgress" after an update.
	CloudFrontPropagation time.Duration
	// Route53Propagation is how long a change stays "PENDING".
	Route53Propagation time.Duration
	// AlarmSpeedup compresses CloudWatch alarm time: periods last Period/AlarmSpeedup and
	// standard-resolution data counts once per minute/AlarmSpeedup. Zero (or 1) is AWS's pace;
	// the drill runs its 10-second alarm periods in a fraction of a second with it. Metric
	// timestamps stay real times.
	AlarmSpeedup float64
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.FailoverPending, 30*time.Millisecond)
	def(&t.FailoverPromote, 60*time.Millisecond)
	def(&t.CloudFrontPropagation, 50*time.Millisecond)
	def(&t.Route53Propagation, 50*time.Millisecond)
	if t.AlarmSpeedup < 1 {
		t.AlarmSpeedup = 1
	}
	return t
}

// Options configures a Server.
type Options struct {
	// Account is the account ID in generated ARNs; DefaultAccount when empty.
	Account string
	Timing  Timing
	// Traffic hears, after the propagation time, where an updated distribution or record
	// now sends traffic. It runs on a background goroutine that Close waits for, so it must
	// return promptly; nil means nobody listens.
	Traffic TrafficHook
	// Logger gets one line per emulated background outcome (promotions); slog.Default() when nil.
	Logger *slog.Logger
	// Addr is the loopback address Start listens on ("127.0.0.1:4566"); empty picks a free port.
	Addr string
}

// Server is the emulator: an http.Handler for all services, optionally listening on
// 127.0.0.1 (Start). Its methods are safe for concurrent use.
type Server struct {
	account string
	timing  Timing
	traffic TrafficHook
	log     *slog.Logger

	faults faults

	mu          sync.Mutex
	downRegions map[string]bool
	globalDown  bool

	rds        *rdsService
	sns        *snsService
	cloudwatch *cloudwatchService
	cloudfront *cloudfrontService
	route53    *route53Service
	sfn        *sfnService
	secrets    *secretsService
	events     *eventBus
	dynamodb   *dynamodbService

	// background work (failover timelines, propagation, executions) stops when ctx ends.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	httpServer *http.Server
	url        string
}

// New returns an emulator that serves through ServeHTTP; Start also listens.
func New(opts Options) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		account:     opts.Account,
		timing:      opts.Timing.withDefaults(),
		traffic:     opts.Traffic,
		log:         opts.Logger,
		downRegions: map[string]bool{},
		ctx:         ctx,
		cancel:      cancel,
	}
	if s.account == "" {
		s.account = DefaultAccount
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.faults.init()
	s.rds = newRDSService(s)
	s.sns = newSNSService(s)
	s.cloudwatch = newCloudWatchService(s)
	s.cloudfront = newCloudFrontService(s)
	s.route53 = newRoute53Service(s)
	s.sfn = newSFNService(s)
	s.secrets = newSecretsService(s)
	s.events = &eventBus{}
	s.dynamodb = newDynamoDBService(s)
	return s
}

// Start returns an emulator listening on opts.Addr, or a free port of 127.0.0.1. Close stops it.
func Start(opts Options) (*Server, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return nil, fmt.Errorf("localcloud: address %q: use a loopback host:port such as 127.0.0.1:4566 (the emulator checks no signatures, so it never listens beyond this machine)", addr)
	}
	s := New(opts)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("localcloud: listen on %s: %w (is another process using the port?)", addr, err)
	}
	s.url = "http://" + ln.Addr().String()
	// ReadTimeout bounds the body too: a client announcing more than it sends cannot hold a connection.
	s.httpServer = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go s.httpServer.Serve(ln) //nolint:errcheck // Serve always returns ErrServerClosed after Close.
	return s, nil
}

// Account is the account ID in the ARNs the emulator makes up.
func (s *Server) Account() string { return s.account }

// URL is the base URL to give SDK clients as BaseEndpoint; empty unless started with Start.
func (s *Server) URL() string { return s.url }

// Close stops listening, cancels background work (running executions end ABORTED) and waits for it.
func (s *Server) Close() error {
	var err error
	if s.httpServer != nil {
		err = s.httpServer.Close()
	}
	s.cancel()
	s.wg.Wait()
	return err
}

// Config returns an aws.Config whose clients call this emulator (started with Start) as the given
// region's endpoint, with static dummy credentials. Build clients from it as usual:
// rds.NewFromConfig(s.Config("us-west-2")). Processes that load their configuration from the
// environment get the same with AWS_ENDPOINT_URL=s.URL(), AWS_REGION and any AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY pair: the emulator does not check signatures.
func (s *Server) Config(region string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(s.url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIALOCALCLOUD", SecretAccessKey: "localcloud", Source: "localcloud"}, nil
		}),
	}
}

// SetRegionDown takes a region's endpoints off the air (down=true) or back. Calls signed for a
// down region get no answer: the connection is closed without a response, as when an outage
// makes the endpoint unreachable. CloudFront and Route 53 are global and stay up.
func (s *Server) SetRegionDown(region string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.downRegions[region] = down
}

// SetGlobalControlPlanesDown takes CloudFront's and Route 53's APIs off the air (or brings them back).
// SetRegionDown leaves them answering, as a regional outage usually does; but both control planes are
// served from us-east-1, and an outage there can take them down too, which is what this models.
// Requests are dropped as for a region that is down.
func (s *Server) SetGlobalControlPlanesDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.globalDown = down
}

func (s *Server) globalControlPlanesDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.globalDown
}

// RegionDown reports whether SetRegionDown took the region off the air.
func (s *Server) RegionDown(region string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downRegions[region]
}

// goBackground runs f on its own goroutine; ctx ends when the server closes, and Close waits for f.
func (s *Server) goBackground(f func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
}

// sleep waits for d or until the server closes; false means it closed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// request is what every service handler gets: the parsed routing facts plus the HTTP exchange.
type request struct {
	*http.Request
	region string
}

// ServeHTTP routes a request to its service by the SigV4 credential scope, falling back to the
// protocol's own markers (X-Amz-Target, Smithy-Protocol, REST path prefixes).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	region, service := credentialScope(r.Header.Get("Authorization"))
	if service == "" {
		service = serviceFromShape(r)
	}
	if region == "" {
		region = "us-east-1"
	}
	req := &request{Request: r, region: region}
	global := service == "cloudfront" || service == "route53"
	if (!global && s.RegionDown(region)) || (global && s.globalControlPlanesDown()) {
		dropConnection(w)
		return
	}
	switch service {
	case "rds":
		s.rds.serve(w, req)
	case "sns":
		s.sns.serve(w, req)
	case "monitoring":
		s.cloudwatch.serve(w, req)
	case "cloudfront":
		s.cloudfront.serve(w, req)
	case "route53":
		s.route53.serve(w, req)
	case "states":
		s.sfn.serve(w, req)
	case "secretsmanager":
		s.secrets.serve(w, req)
	case "dynamodb":
		s.dynamodb.serve(w, req)
	default:
		http.Error(w, fmt.Sprintf("localcloud does not emulate service %q (from the SigV4 credential scope); "+
			"it serves rds, sns, monitoring, cloudfront, route53, states, secretsmanager and dynamodb", service), http.StatusNotFound)
	}
}

// credentialScope reads region and service from "AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...".
func credentialScope(auth string) (region, service string) {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", ""
	}
	cred, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 {
		return "", ""
	}
	return parts[2], parts[3]
}

func serviceFromShape(r *http.Request) string {
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "AWSStepFunctions."):
		return "states"
	case strings.HasPrefix(target, "secretsmanager."):
		return "secretsmanager"
	case strings.HasPrefix(target, cwTargetPrefix):
		return "monitoring"
	case strings.HasPrefix(target, "DynamoDB_20120810."):
		return "dynamodb"
	case r.Header.Get("Smithy-Protocol") == "rpc-v2-cbor":
		return "monitoring"
	case strings.HasPrefix(r.URL.Path, "/2020-05-31/"):
		return "cloudfront"
	case strings.HasPrefix(r.URL.Path, "/2013-04-01/"):
		return "route53"
	}
	return ""
}

// dropConnection closes the connection without answering, which the SDK sees as a transport error.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// Behind a handler that cannot hijack (httptest.ResponseRecorder) the nearest thing is a 503.
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	conn.Close()
}

// APIError is an AWS error as a service returns it: HTTP status, error code and message. A 4xx
// status is the caller's fault (Sender), a 5xx the service's (Receiver).
//
// Backends return one to make a call fail the way AWS would (for example a GlobalDatabase
// refusing a promotion with 400 InvalidDBClusterStateFault); other errors become 500 InternalFailure.
type APIError struct {
	Status  int
	Code    string
	Message string
	// shape is the modelled error shape where it differs from Code (CloudWatch's
	// InvalidParameterValueException has the query code InvalidParameterValue).
	shape string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func (e *APIError) faultType() string {
	if e.Status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

func errorf(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// asAPIError turns any error into the error a service would return: an *APIError from a backend
// passes through, anything else is an InternalFailure (the service's fault).
func asAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	return &APIError{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
}

// requestID is a unique ID for the x-amzn-RequestId header and error bodies.
func (s *Server) requestID() string {
	return fmt.Sprintf("lc-%016x", s.faults.nextSeq())
}

// newUUID returns a random version 4 UUID, the form of SNS message IDs and default execution names.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
