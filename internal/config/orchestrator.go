// The orchestrator functions' settings, rendered back (Orchestrator.Env) for local runs and tests.
//
// Variables (required by the functions listed; defaults in brackets):
//
//	SWITCHYARD_REGION   the region this deployment activates [AWS_REGION]             all
//	GLOBAL_CLUSTER_ID   the Aurora global cluster's identifier                         preflight, promote, await, traffic
//	LOCAL_CLUSTER_ARN   this region's Aurora cluster ARN                               preflight, promote, await, traffic
//	PEER_API_URL        the other region's API base URL (its /health is probed)        preflight, promote, peer-prober
//	LOCAL_API_URL       this region's API base URL                                     verify, peer-prober
//	PUBLIC_URL          the public endpoint's base URL                                 verify, peer-prober
//	ALLOW_DATA_LOSS     whether failover with data loss may run [false]                preflight, promote
//	MAX_LAG             largest lag a failover may lose, 0 for no limit [60s]          preflight, promote
//	LAG_METRIC          AuroraGlobalDBRPOLag or AuroraGlobalDBReplicationLag [AuroraGlobalDBRPOLag]
//	PROMOTION_TIMEOUT   bound on the wait for the promotion [15m]                      promote
//	TRAFFIC_MODE        cloudfront or route53 [cloudfront]                             traffic
//	DISTRIBUTION_ID, LOCAL_ORIGIN_ID                        (cloudfront)               traffic
//	HOSTED_ZONE_ID, RECORD_NAME, LOCAL_RECORD_VALUE, RECORD_TYPE [CNAME], RECORD_TTL [60] (route53)
//	HTTP_TIMEOUT        timeout of each canary request [5s]                            verify
//	CANARY_TOKEN_URL, CANARY_CLIENT_SECRET_ARN, CANARY_SCOPE  (optional, together)      verify
//	ORIGIN_SECRET       the edge's origin secret, for the canary's direct requests (optional) verify
//	                    OAuth 2.0 token endpoint and the secret holding the canary's client_id and
//	                    client_secret, for APIs whose writes need a JWT with the write scope
//	TOPIC_ARN           the SNS topic for notifications                                notify
//	STATE_MACHINE_ARN   this region's state machine                                    trigger
//	ALARM_NAMES         comma-separated alarms the trigger acts on                     trigger
//	RECONCILE_ALARM_NAMES  comma-separated watchdog alarms: start a reconcile run       trigger
//	COOLDOWN            incident window and cooldown between executions [30m]          trigger
//	REDRIVE_MAX         new executions per incident after failed ones, 0 for none [3]  trigger
//	REDRIVE_BACKOFF     delay before the first re-drive, doubled each time [30s]      trigger
//	PROBE_SAMPLES       probes per invocation [6]                                      peer-prober
//	PROBE_INTERVAL      time between probes [10s]                                      peer-prober
//	PROBE_TIMEOUT       timeout of each probe [2s]                                     peer-prober
//	METRIC_NAMESPACE    CloudWatch namespace of the probe metrics [Switchyard]         peer-prober
//
// Durations are Go durations (90s, 15m). AWS endpoints are not configured here: the SDK reads
// AWS_REGION, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> itself, which is how local runs reach
// the emulator without the functions knowing.

package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Orchestrator is one region's orchestrator settings.
type Orchestrator struct {
	Region           string
	GlobalClusterID  string
	LocalClusterARN  string
	PeerAPIURL       string
	LocalAPIURL      string
	PublicURL        string
	AllowDataLoss    bool
	MaxLag           time.Duration
	LagMetric        string
	PromotionTimeout time.Duration
	TrafficMode      string
	DistributionID   string
	LocalOriginID    string
	HostedZoneID     string
	RecordName       string
	LocalRecordValue string
	RecordType       string
	RecordTTL        int64
	HTTPTimeout      time.Duration
	// Canary credentials for an API with a JWT authorizer on writes; empty when it has none.
	CanaryTokenURL        string
	CanaryClientSecretARN string
	CanaryScope           string
	// OriginSecret (ORIGIN_SECRET) is the edge's origin secret, which the canary's direct requests
	// to this region's API must carry when an edge fronts it; never log it.
	OriginSecret        string
	TopicARN            string
	StateMachineARN     string
	AlarmNames          []string
	ReconcileAlarmNames []string
	Cooldown            time.Duration
	RedriveMax          int
	RedriveBackoff      time.Duration
	ProbeSamples        int
	ProbeInterval       time.Duration
	ProbeTimeout        time.Duration
	MetricNamespace     string
}

// OrchestratorDefaults returns the settings every variable falls back to.
func OrchestratorDefaults() Orchestrator {
	return Orchestrator{
		MaxLag: time.Minute, LagMetric: "AuroraGlobalDBRPOLag", PromotionTimeout: 15 * time.Minute,
		TrafficMode: "cloudfront", RecordType: "CNAME", RecordTTL: 60, HTTPTimeout: 5 * time.Second,
		Cooldown: 30 * time.Minute, RedriveMax: 3, RedriveBackoff: 30 * time.Second, ProbeSamples: 6, ProbeInterval: 10 * time.Second,
		ProbeTimeout: 2 * time.Second, MetricNamespace: "Switchyard",
	}
}

// LocalTarget is what the traffic switch points at to activate this region.
func (d Orchestrator) LocalTarget() string {
	if d.TrafficMode == "route53" {
		return d.LocalRecordValue
	}
	return d.LocalOriginID
}

// Env renders d as the environment variables the functions read, for local runs and tests; unset
// settings are left out.
func (d Orchestrator) Env() map[string]string {
	m := map[string]string{
		"SWITCHYARD_REGION": d.Region, "GLOBAL_CLUSTER_ID": d.GlobalClusterID, "LOCAL_CLUSTER_ARN": d.LocalClusterARN,
		"PEER_API_URL": d.PeerAPIURL, "LOCAL_API_URL": d.LocalAPIURL, "PUBLIC_URL": d.PublicURL,
		"ALLOW_DATA_LOSS": strconv.FormatBool(d.AllowDataLoss), "MAX_LAG": d.MaxLag.String(), "LAG_METRIC": d.LagMetric,
		"PROMOTION_TIMEOUT": d.PromotionTimeout.String(), "TRAFFIC_MODE": d.TrafficMode,
		"DISTRIBUTION_ID": d.DistributionID, "LOCAL_ORIGIN_ID": d.LocalOriginID, "HOSTED_ZONE_ID": d.HostedZoneID,
		"RECORD_NAME": d.RecordName, "LOCAL_RECORD_VALUE": d.LocalRecordValue, "RECORD_TYPE": d.RecordType,
		"RECORD_TTL": strconv.FormatInt(d.RecordTTL, 10), "HTTP_TIMEOUT": d.HTTPTimeout.String(),
		"CANARY_TOKEN_URL": d.CanaryTokenURL, "CANARY_CLIENT_SECRET_ARN": d.CanaryClientSecretARN, "CANARY_SCOPE": d.CanaryScope, "ORIGIN_SECRET": d.OriginSecret,
		"TOPIC_ARN": d.TopicARN, "STATE_MACHINE_ARN": d.StateMachineARN, "ALARM_NAMES": strings.Join(d.AlarmNames, ","),
		"RECONCILE_ALARM_NAMES": strings.Join(d.ReconcileAlarmNames, ","), "COOLDOWN": d.Cooldown.String(),
		"REDRIVE_MAX": strconv.Itoa(d.RedriveMax), "REDRIVE_BACKOFF": d.RedriveBackoff.String(),
		"PROBE_SAMPLES": strconv.Itoa(d.ProbeSamples), "PROBE_INTERVAL": d.ProbeInterval.String(), "PROBE_TIMEOUT": d.ProbeTimeout.String(),
		"METRIC_NAMESPACE": d.MetricNamespace,
	}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// The variables each function needs beyond SWITCHYARD_REGION.
var (
	databaseVars  = []string{"GLOBAL_CLUSTER_ID", "LOCAL_CLUSTER_ARN"}
	TriggerVars   = []string{"STATE_MACHINE_ARN", "ALARM_NAMES"}
	PreflightVars = append([]string{"PEER_API_URL"}, databaseVars...)
	PromoteVars   = append([]string{"PEER_API_URL"}, databaseVars...)
	AwaitVars     = databaseVars
	TrafficVars   = append([]string{"TRAFFIC_MODE"}, databaseVars...)
	VerifyVars    = []string{"LOCAL_API_URL", "PUBLIC_URL"}
	NotifyVars    = []string{"TOPIC_ARN"}
	ProberVars    = []string{"PEER_API_URL", "LOCAL_API_URL", "PUBLIC_URL"}
)

// LoadOrchestrator reads every variable through env (os.LookupEnv in the functions), applies the
// defaults, and checks that the variables in required (one of the lists above) are set. All problems
// are reported at once.
func LoadOrchestrator(env Lookup, required []string) (Orchestrator, error) {
	getenv := func(name string) string { v, _ := env(name); return v }
	d := OrchestratorDefaults()
	var errs []error
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		x, err := time.ParseDuration(v)
		if err != nil || x < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a non-negative Go duration such as 90s or 15m", name, v))
			return
		}
		*dst = x
	}
	d.Region = strings.TrimSpace(getenv("AWS_REGION"))
	str("SWITCHYARD_REGION", &d.Region)
	str("GLOBAL_CLUSTER_ID", &d.GlobalClusterID)
	str("LOCAL_CLUSTER_ARN", &d.LocalClusterARN)
	str("PEER_API_URL", &d.PeerAPIURL)
	str("LOCAL_API_URL", &d.LocalAPIURL)
	str("PUBLIC_URL", &d.PublicURL)
	str("LAG_METRIC", &d.LagMetric)
	str("TRAFFIC_MODE", &d.TrafficMode)
	str("DISTRIBUTION_ID", &d.DistributionID)
	str("LOCAL_ORIGIN_ID", &d.LocalOriginID)
	str("HOSTED_ZONE_ID", &d.HostedZoneID)
	str("RECORD_NAME", &d.RecordName)
	str("LOCAL_RECORD_VALUE", &d.LocalRecordValue)
	str("RECORD_TYPE", &d.RecordType)
	str("TOPIC_ARN", &d.TopicARN)
	str("STATE_MACHINE_ARN", &d.StateMachineARN)
	str("METRIC_NAMESPACE", &d.MetricNamespace)
	str("CANARY_TOKEN_URL", &d.CanaryTokenURL)
	str("ORIGIN_SECRET", &d.OriginSecret)
	str("CANARY_CLIENT_SECRET_ARN", &d.CanaryClientSecretARN)
	str("CANARY_SCOPE", &d.CanaryScope)
	dur("MAX_LAG", &d.MaxLag)
	dur("PROMOTION_TIMEOUT", &d.PromotionTimeout)
	dur("HTTP_TIMEOUT", &d.HTTPTimeout)
	dur("COOLDOWN", &d.Cooldown)
	dur("REDRIVE_BACKOFF", &d.RedriveBackoff)
	dur("PROBE_INTERVAL", &d.ProbeInterval)
	dur("PROBE_TIMEOUT", &d.ProbeTimeout)
	if v := strings.TrimSpace(getenv("ALLOW_DATA_LOSS")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("ALLOW_DATA_LOSS=%q: want true or false", v))
		}
		d.AllowDataLoss = b
	}
	if v := strings.TrimSpace(getenv("RECORD_TTL")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("RECORD_TTL=%q: want a number of seconds", v))
		}
		d.RecordTTL = n
	}
	if v := strings.TrimSpace(getenv("REDRIVE_MAX")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10 {
			errs = append(errs, fmt.Errorf("REDRIVE_MAX=%q: want a number from 0 to 10", v))
		}
		d.RedriveMax = n
	}
	if v := strings.TrimSpace(getenv("PROBE_SAMPLES")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 30 {
			errs = append(errs, fmt.Errorf("PROBE_SAMPLES=%q: want a number from 1 to 30", v))
		}
		d.ProbeSamples = n
	}
	for _, a := range strings.Split(getenv("ALARM_NAMES"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			d.AlarmNames = append(d.AlarmNames, a)
		}
	}
	for _, a := range strings.Split(getenv("RECONCILE_ALARM_NAMES"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			d.ReconcileAlarmNames = append(d.ReconcileAlarmNames, a)
		}
	}

	if d.Region == "" {
		errs = append(errs, errors.New("SWITCHYARD_REGION (or AWS_REGION) is not set: set it to the region this deployment activates"))
	}
	for _, name := range required {
		if strings.TrimSpace(getenv(name)) == "" && !(name == "TRAFFIC_MODE" && d.TrafficMode != "") {
			errs = append(errs, fmt.Errorf("%s is not set", name))
		}
	}
	for _, name := range []string{"PEER_API_URL", "LOCAL_API_URL", "PUBLIC_URL"} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("%s=%q: want an http(s) base URL such as https://api.example.com", name, v))
			}
		}
	}
	if (d.CanaryTokenURL == "") != (d.CanaryClientSecretARN == "") {
		errs = append(errs, errors.New("CANARY_TOKEN_URL and CANARY_CLIENT_SECRET_ARN go together: set both for an API whose writes need a JWT, or neither"))
	}
	if v := getenv("LOCAL_CLUSTER_ARN"); v != "" && !strings.HasPrefix(v, "arn:") {
		errs = append(errs, fmt.Errorf("LOCAL_CLUSTER_ARN=%q: want the cluster's ARN (arn:aws:rds:<region>:<account>:cluster:<name>)", v))
	}
	if slices.Contains(required, "TRAFFIC_MODE") {
		switch d.TrafficMode {
		case "cloudfront":
			errs = append(errs, missingWith(getenv, "TRAFFIC_MODE=cloudfront", "DISTRIBUTION_ID", "LOCAL_ORIGIN_ID")...)
		case "route53":
			errs = append(errs, missingWith(getenv, "TRAFFIC_MODE=route53", "HOSTED_ZONE_ID", "RECORD_NAME", "LOCAL_RECORD_VALUE")...)
		default:
			errs = append(errs, fmt.Errorf("TRAFFIC_MODE=%q: want cloudfront or route53", d.TrafficMode))
		}
	}
	if slices.Contains(required, "ALARM_NAMES") && len(d.AlarmNames) == 0 && getenv("ALARM_NAMES") != "" {
		errs = append(errs, errors.New("ALARM_NAMES lists no alarm: want comma-separated alarm names"))
	}
	if slices.Contains(required, "STATE_MACHINE_ARN") && d.Cooldown == 0 {
		errs = append(errs, errors.New("COOLDOWN=0: the incident window cannot be empty; want e.g. 30m"))
	}
	if slices.Contains(required, "PEER_API_URL") && slices.Contains(required, "PUBLIC_URL") {
		if span := time.Duration(d.ProbeSamples-1)*d.ProbeInterval + 2*d.ProbeTimeout; span >= time.Minute {
			errs = append(errs, fmt.Errorf("PROBE_SAMPLES=%d, PROBE_INTERVAL=%s and PROBE_TIMEOUT=%s span %s: the prober runs every minute, keep it under 60s",
				d.ProbeSamples, d.ProbeInterval, d.ProbeTimeout, span))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return d, fmt.Errorf("configuration: %w", err)
	}
	return d, nil
}

func missingWith(getenv func(string) string, why string, names ...string) []error {
	var errs []error
	for _, n := range names {
		if strings.TrimSpace(getenv(n)) == "" {
			errs = append(errs, fmt.Errorf("%s is not set (needed with %s)", n, why))
		}
	}
	return errs
}
