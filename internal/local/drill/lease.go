package drill

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/lease"
	"github.com/switchyard-dr/switchyard/internal/lease/dynamolease"
)

// The writer lease in the drill: a table in each region and one in the witness region, all in
// localcloud; each region's lease-renewer reaches its own table directly and the other two
// through links that a scenario can cut (newLink: network namespaces as root, relays otherwise). The timings are the deployed ones compressed
// (2 s / 10 s / 1 s / 2 s become 250 ms / 2 s / 300 ms / 400 ms) under the same rule, with room
// for a machine shared with other work: a renewal may take 300 ms and one may be lost.
const (
	witnessRegion = "eu-west-1"
	leaseTable    = "switchyard-lease"
)

var drillTimings = lease.Timings{RenewInterval: 250 * time.Millisecond, TTL: 2 * time.Second,
	CallTimeout: 300 * time.Millisecond, Margin: 400 * time.Millisecond}

// leaseWorld is the lease's part of the environment.
type leaseWorld struct {
	// links[from][grantor] is the link region from uses to reach grantor's table.
	links map[string]map[string]link
	// api[from] is the link region from's prober and orchestrator use to reach the peer's API.
	api map[string]link
	// kind is how the links are cut (linkKind), for the reports.
	kind string
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	samples []leaseSample
	notices []string
}

// leaseSample is the witness's record at one instant: what a majority granted last.
type leaseSample struct {
	At    time.Time
	Grant lease.Grant
}

// startLease creates the tables and the links; the renewers start with startRenewers.
func (e *Env) startLease(ctx context.Context) error {
	for _, region := range []string{e.A.AWSRegion, e.B.AWSRegion, witnessRegion} {
		_, err := dynamodb.NewFromConfig(e.Cloud.Config(region)).CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(leaseTable),
			KeySchema:            []ddb.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddb.KeyTypeHash}},
			AttributeDefinitions: []ddb.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddb.ScalarAttributeTypeS}},
			BillingMode:          ddb.BillingModePayPerRequest,
		})
		if err != nil {
			return fmt.Errorf("create the lease table in %s: %w", region, err)
		}
	}
	u, err := url.Parse(e.Cloud.URL())
	if err != nil {
		return err
	}
	e.lease = &leaseWorld{links: map[string]map[string]link{}, api: map[string]link{}, kind: linkKind()}
	for _, pr := range [][2]*Region{{e.A, e.B}, {e.B, e.A}} {
		self, peer := pr[0], pr[1]
		rl, err := newLink(self.Name+" → "+peer.Name+" API", peer.httpAddr)
		if err != nil {
			return err
		}
		e.lease.api[self.Name] = rl
		e.lease.links[self.Name] = map[string]link{}
		for _, g := range []string{peer.AWSRegion, "witness"} {
			rl, err := newLink(self.Name+" → "+g+" lease table", u.Host)
			if err != nil {
				return err
			}
			e.lease.links[self.Name][g] = rl
		}
	}
	return nil
}

// leaseEnv is the lease's configuration for r's functions.
func (e *Env) leaseEnv(r *Region) map[string]string {
	peer := e.B
	if r == e.B {
		peer = e.A
	}
	links := e.lease.links[r.Name]
	env := map[string]string{
		"LEASE_GRANTORS": fmt.Sprintf("%s=%s/%s,%s=%s/%s,witness=%s/%s", e.A.AWSRegion, e.A.AWSRegion, leaseTable,
			e.B.AWSRegion, e.B.AWSRegion, leaseTable, witnessRegion, leaseTable),
		"LEASE_GRANTOR_ENDPOINTS": fmt.Sprintf("%s=%s,witness=%s", peer.AWSRegion, links[peer.AWSRegion].URL(), links["witness"].URL()),
		"LEASE_RENEW_INTERVAL":    drillTimings.RenewInterval.String(), "LEASE_TTL": drillTimings.TTL.String(),
		"LEASE_CALL_TIMEOUT": drillTimings.CallTimeout.String(), "LEASE_MARGIN": drillTimings.Margin.String(),
		"RENEWER_RUN_FOR": "5m", "PROMOTION_GRACE": "30s",
	}
	if e.opts.RPOMax > 0 {
		env["RPO_MAX"] = e.opts.RPOMax.String()
	}
	return env
}

// startRenewers runs each region's lease-renewer as its schedule would, back to back, and watches
// the witness's record.
func (e *Env) startRenewers() {
	ctx, cancel := context.WithCancel(context.Background())
	e.lease.stop = cancel
	for _, r := range []*Region{e.A, e.B} {
		e.lease.wg.Go(func() {
			last := "" // the failure last reported: a host that is down fails every interval
			for ctx.Err() == nil {
				res, err := r.Host.Invoke(ctx, "lease-renewer", []byte(`{"source":"aws.events","detail-type":"Scheduled Event"}`))
				if ctx.Err() != nil {
					return
				}
				if err == nil && res.FunctionError == nil {
					last = ""
					continue
				}
				why := fmt.Sprint(err)
				if err == nil {
					why = res.FunctionError.Type + ": " + res.FunctionError.Message
				}
				if why != last {
					e.progress("%s's lease-renewer ended badly (retried every %s): %s", r.Name, drillTimings.RenewInterval, why)
					last = why
				}
				if sleep(ctx, drillTimings.RenewInterval) != nil {
					return
				}
			}
		})
	}
	witness := dynamolease.New("witness", dynamodb.NewFromConfig(e.Cloud.Config(witnessRegion)), leaseTable)
	e.lease.wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if g, err := witness.Read(ctx); err == nil {
				e.lease.mu.Lock()
				e.lease.samples = append(e.lease.samples, leaseSample{At: time.Now(), Grant: g})
				e.lease.mu.Unlock()
			}
		}
	})
}

// stopLease ends the renewers' loops and the watcher, and closes the links (deleting their
// namespaces). An invocation in flight ends only when its host closes: call it after closing the
// hosts.
func (e *Env) stopLease() error {
	if e.lease == nil {
		return nil
	}
	if e.lease.stop != nil {
		e.lease.stop()
		e.lease.wg.Wait()
	}
	var errs []error
	for _, links := range e.lease.links {
		for _, rl := range links {
			errs = append(errs, rl.Close())
		}
	}
	for _, rl := range e.lease.api {
		errs = append(errs, rl.Close())
	}
	return errors.Join(errs...)
}

// peerAPIURL is the peer's API as r reaches it: through the cuttable link.
func (e *Env) peerAPIURL(r *Region) string { return e.lease.api[r.Name].URL() }

// cutLease cuts (or restores) r's links to the other region's table and to the witness.
func (e *Env) cutLease(r *Region, cut bool) error {
	var errs []error
	for _, rl := range e.lease.links[r.Name] {
		errs = append(errs, rl.SetCut(cut))
	}
	return errors.Join(errs...)
}

// cutWitness cuts (or restores) both regions' links to the witness.
func (e *Env) cutWitness(cut bool) error {
	var errs []error
	for _, links := range e.lease.links {
		errs = append(errs, links["witness"].SetCut(cut))
	}
	return errors.Join(errs...)
}

// fence reads r's database's write fence: who holds it and whether it is open now.
func fence(ctx context.Context, r *Region) (holder string, epoch uint64, open bool, err error) {
	db, err := r.DB.Admin()
	if err != nil {
		return "", 0, false, err
	}
	defer db.Close()
	err = db.QueryRowContext(ctx, "SELECT holder, epoch, fence_until > UTC_TIMESTAMP(6) FROM "+appDatabase+".writer_lease WHERE id = 1").Scan(&holder, &epoch, &open)
	if err == sql.ErrNoRows {
		err = fmt.Errorf("%s has no writer_lease row: the migration did not run", r.Name)
	}
	return holder, epoch, open, err
}

// waitFence waits until r's own renewer has opened its database's fence.
func (e *Env) waitFence(ctx context.Context, r *Region, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		holder, epoch, open, err := fence(ctx, r)
		if err == nil && open && holder == r.AWSRegion {
			return nil
		}
		last = fmt.Sprintf("holder %q epoch %d open %v %v", holder, epoch, open, err)
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s's write fence did not open within %v (last: %s)", r.Name, limit, last)
}

// leaseExpiry is the last expiry the witness recorded for holder, at any epoch, before until:
// the end of a lease a majority granted (the witness takes part in every majority that a cut
// region can no longer reach).
func (e *Env) leaseExpiry(holder string, until time.Time) time.Time {
	e.lease.mu.Lock()
	defer e.lease.mu.Unlock()
	var last time.Time
	for _, s := range e.lease.samples {
		if s.At.Before(until) && s.Grant.Holder == holder && !s.Grant.Released && s.Grant.Expires.After(last) {
			last = s.Grant.Expires
		}
	}
	return last
}

// recordNotice keeps a notification the orchestrator published.
func (e *Env) recordNotice(message string) {
	if e.lease == nil {
		return
	}
	e.lease.mu.Lock()
	defer e.lease.mu.Unlock()
	e.lease.notices = append(e.lease.notices, message)
}

// notices returns the notifications published so far.
func (e *Env) notices() []string {
	e.lease.mu.Lock()
	defer e.lease.mu.Unlock()
	return append([]string(nil), e.lease.notices...)
}

func isNotificationTopic(arn string) bool { return strings.HasSuffix(arn, ":switchyard-notifications") }

// reportedLoss is the estimated data loss in the activation notice r published after the first
// seen notifications; -1 when there is none.
func (e *Env) reportedLoss(seen int, r *Region) int64 {
	loss := int64(-1)
	for _, n := range e.notices()[seen:] {
		var rp failover.Report
		if json.Unmarshal([]byte(n), &rp) == nil && rp.Region == r.AWSRegion && rp.Outcome == failover.OutcomeActivated {
			loss = rp.EstimatedDataLossMs
		}
	}
	return loss
}
