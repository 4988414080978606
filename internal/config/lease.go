// The writer lease's settings (internal/lease), read by lease-renewer and by the orchestrator's
// preflight and promote.
//
// Variables (defaults in brackets):
//
//	LEASE_HOLDER          the name this region holds the lease under [SWITCHYARD_REGION, else AWS_REGION]
//	LEASE_GRANTORS        the grantors, name=region/table comma-separated, an odd number ≥ 3: each
//	                      region's table and the witness's, such as
//	                      us-east-1=us-east-1/switchyard-lease,us-west-2=us-west-2/switchyard-lease,witness=eu-west-1/switchyard-witness
//	LEASE_GRANTOR_ENDPOINTS  optional name=URL overrides of a grantor's endpoint, comma-separated:
//	                      local runs put each link behind its own address so that a drill can cut it
//	LEASE_RENEW_INTERVAL  time between renewals [2s]
//	LEASE_TTL             how long a renewal keeps the lease [10s]
//	LEASE_CALL_TIMEOUT    bound on each call to a grantor [1s]
//	LEASE_MARGIN          largest clock skew allowed; the fence ends this long before the lease,
//	                      a takeover waits this long after it [2s]
//	RENEWER_RUN_FOR       how long one lease-renewer invocation keeps renewing [110s]
//	PROMOTION_GRACE       how long a lease taken for a promotion is kept while the database is
//	                      still read-only [15m]
//	RPO_MAX               optional bound on the data a failover may lose: the writer refuses writes
//	                      while the standby's published heartbeat is older [0: no bound]

package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// LeaseGrantor is one grantor's table.
type LeaseGrantor struct {
	Name   string
	Region string
	Table  string
	// Endpoint overrides the region's DynamoDB endpoint; empty in AWS.
	Endpoint string
}

// Lease is the writer lease's settings.
type Lease struct {
	Holder         string
	Grantors       []LeaseGrantor
	RenewInterval  time.Duration
	TTL            time.Duration
	CallTimeout    time.Duration
	Margin         time.Duration
	RunFor         time.Duration
	PromotionGrace time.Duration
	RPOMax         time.Duration
}

// LeaseRenewer is the lease-renewer function's configuration.
type LeaseRenewer struct {
	Lease   Lease
	DB      DB
	Tracing bool
}

// LeaseRenewerFromEnv reads the lease-renewer configuration from the process environment.
func LeaseRenewerFromEnv() (LeaseRenewer, error) { return LoadLeaseRenewer(os.LookupEnv) }

// LoadLeaseRenewer reads and validates the lease-renewer configuration.
func LoadLeaseRenewer(env Lookup) (LeaseRenewer, error) {
	db, dbErr := loadDB(env)
	l, lErr := LoadLease(env)
	c := LeaseRenewer{Lease: l, DB: db, Tracing: tracing(env)}
	var errs []error
	if l.RunFor+l.RenewInterval > 15*time.Minute {
		errs = append(errs, fmt.Errorf("RENEWER_RUN_FOR=%s is beyond what one Lambda invocation can run (15m)", l.RunFor))
	}
	return c, errors.Join(dbErr, lErr, errors.Join(errs...))
}

// LoadLease reads the lease settings.
func LoadLease(env Lookup) (Lease, error) {
	l := Lease{RenewInterval: 2 * time.Second, TTL: 10 * time.Second, CallTimeout: time.Second, Margin: 2 * time.Second,
		RunFor: 110 * time.Second, PromotionGrace: 15 * time.Minute}
	var errs []error
	l.Holder = get(env, "LEASE_HOLDER")
	for _, name := range []string{"SWITCHYARD_REGION", "AWS_REGION"} {
		if l.Holder == "" {
			l.Holder = get(env, name)
		}
	}
	if l.Holder == "" {
		errs = append(errs, errors.New("LEASE_HOLDER is not set and neither is SWITCHYARD_REGION nor AWS_REGION: the lease needs this region's name"))
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"LEASE_RENEW_INTERVAL", &l.RenewInterval}, {"LEASE_TTL", &l.TTL}, {"LEASE_CALL_TIMEOUT", &l.CallTimeout},
		{"LEASE_MARGIN", &l.Margin}, {"RENEWER_RUN_FOR", &l.RunFor}, {"PROMOTION_GRACE", &l.PromotionGrace}, {"RPO_MAX", &l.RPOMax},
	} {
		if v := get(env, d.name); v != "" {
			p, err := time.ParseDuration(v)
			if err != nil || p < 0 || (p == 0 && d.name != "RPO_MAX") {
				errs = append(errs, fmt.Errorf("%s=%q is not a positive Go duration such as 2s or 1500ms", d.name, v))
				continue
			}
			*d.dst = p
		}
	}
	seen := map[string]bool{}
	raw := get(env, "LEASE_GRANTORS")
	for _, entry := range strings.Split(raw, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		name, where, ok1 := strings.Cut(strings.TrimSpace(entry), "=")
		region, table, ok2 := strings.Cut(where, "/")
		if !ok1 || !ok2 || name == "" || region == "" || table == "" || seen[name] {
			errs = append(errs, fmt.Errorf("LEASE_GRANTORS entry %q: want a unique name=region/table, such as witness=eu-west-1/switchyard-witness", entry))
			continue
		}
		seen[name] = true
		l.Grantors = append(l.Grantors, LeaseGrantor{Name: name, Region: region, Table: table})
	}
	if n := len(l.Grantors); n < 3 || n%2 == 0 {
		errs = append(errs, fmt.Errorf("LEASE_GRANTORS has %d grantors: it needs an odd number, at least 3 (each region's table and the witness's)", n))
	}
	for _, entry := range strings.Split(get(env, "LEASE_GRANTOR_ENDPOINTS"), ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		name, u, _ := strings.Cut(strings.TrimSpace(entry), "=")
		parsed, err := url.Parse(u)
		i := -1
		for j, g := range l.Grantors {
			if g.Name == name {
				i = j
			}
		}
		if i < 0 || err != nil || parsed.Scheme == "" || parsed.Host == "" {
			errs = append(errs, fmt.Errorf("LEASE_GRANTOR_ENDPOINTS entry %q: want name=URL with a name from LEASE_GRANTORS", entry))
			continue
		}
		l.Grantors[i].Endpoint = u
	}
	if l.RPOMax > 0 && l.RPOMax < 3*l.RenewInterval {
		errs = append(errs, fmt.Errorf("RPO_MAX=%s is below 3 × LEASE_RENEW_INTERVAL (%s): a heartbeat is stamped once a renewal and published once a renewal, so a healthy standby would fence the writer", l.RPOMax, 3*l.RenewInterval))
	}
	return l, errors.Join(errs...)
}

// LoadOrchestratorLease reads the lease settings for preflight and promote. The lease is optional
// there: with LEASE_GRANTORS unset it returns no grantors, and the orchestrator decides as it did
// before the lease (on health and the lag metric alone).
func LoadOrchestratorLease(env Lookup) (Lease, error) {
	if get(env, "LEASE_GRANTORS") == "" {
		return Lease{}, nil
	}
	return LoadLease(env)
}
