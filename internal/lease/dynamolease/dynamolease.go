// Package dynamolease is a lease grantor on a DynamoDB table in one region: the item's conditional
// writes (ConditionExpression) are the grantor's conditions, and reads are strongly consistent.
// A single-region table is used, never a global table: a global table's last-writer-wins
// replication would let two regions each win a condition.
//
// The table has a string partition key "pk"; the lease is the item pk = "writer-lease".
package dynamolease

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/lease"
)

// API is the part of the DynamoDB client a grantor calls.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Grantor is one lease grantor: one table in one region.
type Grantor struct {
	name  string
	api   API
	table string
}

var _ lease.Grantor = (*Grantor)(nil)

// New returns the grantor called name (for logs and errors) on table through api.
func New(name string, api API, table string) *Grantor {
	return &Grantor{name: name, api: api, table: table}
}

// KeyValue is the lease item's partition key value.
const KeyValue = "writer-lease"

// Name implements lease.Grantor.
func (g *Grantor) Name() string { return g.name }

func (g *Grantor) key() map[string]ddb.AttributeValue {
	return map[string]ddb.AttributeValue{"pk": &ddb.AttributeValueMemberS{Value: KeyValue}}
}

func num(v uint64) ddb.AttributeValue {
	return &ddb.AttributeValueMemberN{Value: strconv.FormatUint(v, 10)}
}

func millis(t time.Time) ddb.AttributeValue {
	return &ddb.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}

// names maps the expression placeholders to the item's attributes; every expression uses
// placeholders, so that no attribute name can collide with a DynamoDB reserved word.
var names = map[string]string{"#pk": "pk", "#h": "holder", "#e": "epoch", "#x": "expiresAt", "#s": "since", "#r": "released"}

func pick(keys ...string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = names[k]
	}
	return m
}

// Read implements lease.Grantor.
func (g *Grantor) Read(ctx context.Context) (lease.Grant, error) {
	out, err := g.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(g.table), Key: g.key(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return lease.Grant{}, fmt.Errorf("read the lease from %s (table %s): %w", g.name, g.table, err)
	}
	if out.Item == nil {
		return lease.Grant{}, nil
	}
	return decode(out.Item)
}

func decode(item map[string]ddb.AttributeValue) (lease.Grant, error) {
	var gr lease.Grant
	var errs []error
	str := func(k string) string {
		if v, ok := item[k].(*ddb.AttributeValueMemberS); ok {
			return v.Value
		}
		errs = append(errs, fmt.Errorf("attribute %s is not a string", k))
		return ""
	}
	n := func(k string) int64 {
		v, ok := item[k].(*ddb.AttributeValueMemberN)
		if !ok {
			errs = append(errs, fmt.Errorf("attribute %s is not a number", k))
			return 0
		}
		i, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil || i < 0 {
			errs = append(errs, fmt.Errorf("attribute %s is %q, not a non-negative integer", k, v.Value))
		}
		return i
	}
	gr.Holder = str("holder")
	gr.Epoch = uint64(n("epoch"))
	gr.Expires = time.UnixMilli(n("expiresAt")).UTC()
	gr.Since = time.UnixMilli(n("since")).UTC()
	if r, ok := item["released"].(*ddb.AttributeValueMemberBOOL); ok {
		gr.Released = r.Value
	}
	if err := errors.Join(errs...); err != nil {
		return lease.Grant{}, fmt.Errorf("the lease item is malformed (was it edited by hand?): %w", err)
	}
	return gr, nil
}

// conditional turns DynamoDB's refusal of a condition into lease.ErrConflict.
func (g *Grantor) conditional(op string, err error) error {
	if err == nil {
		return nil
	}
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%s at %s: %w", op, g.name, lease.ErrConflict)
	}
	return fmt.Errorf("%s at %s (table %s): %w", op, g.name, g.table, err)
}

// Renew implements lease.Grantor.
func (g *Grantor) Renew(ctx context.Context, holder string, epoch uint64, expires time.Time) error {
	_, err := g.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(g.table),
		Key:                      g.key(),
		UpdateExpression:         aws.String("SET #x = :x"),
		ConditionExpression:      aws.String("#h = :h AND #e = :e AND #r = :false"),
		ExpressionAttributeNames: pick("#h", "#e", "#x", "#r"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":x": millis(expires), ":h": &ddb.AttributeValueMemberS{Value: holder}, ":e": num(epoch),
			":false": &ddb.AttributeValueMemberBOOL{Value: false},
		},
	})
	return g.conditional("renew "+holder+"'s lease", err)
}

// Release implements lease.Grantor.
func (g *Grantor) Release(ctx context.Context, holder string, epoch uint64, at time.Time) error {
	_, err := g.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(g.table),
		Key:                      g.key(),
		UpdateExpression:         aws.String("SET #x = :x, #r = :true"),
		ConditionExpression:      aws.String("#h = :h AND #e = :e"),
		ExpressionAttributeNames: pick("#h", "#e", "#x", "#r"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":x": millis(at), ":h": &ddb.AttributeValueMemberS{Value: holder}, ":e": num(epoch),
			":true": &ddb.AttributeValueMemberBOOL{Value: true},
		},
	})
	return g.conditional("release "+holder+"'s lease", err)
}

// Take implements lease.Grantor.
func (g *Grantor) Take(ctx context.Context, next lease.Grant, expiredBefore time.Time) error {
	_, err := g.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(g.table),
		Item: map[string]ddb.AttributeValue{
			"pk": &ddb.AttributeValueMemberS{Value: KeyValue}, "holder": &ddb.AttributeValueMemberS{Value: next.Holder},
			"epoch": num(next.Epoch), "expiresAt": millis(next.Expires), "since": millis(next.Since),
			"released": &ddb.AttributeValueMemberBOOL{Value: false},
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk) OR (#e < :e AND (#r = :true OR #x < :cutoff))"),
		ExpressionAttributeNames: pick("#pk", "#e", "#r", "#x"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":e": num(next.Epoch), ":true": &ddb.AttributeValueMemberBOOL{Value: true}, ":cutoff": millis(expiredBefore),
		},
	})
	return g.conditional(fmt.Sprintf("take the lease for %s at epoch %d", next.Holder, next.Epoch), err)
}

// FromConfig returns one grantor per configured table, each a client of its own region (and of
// its endpoint override, in local runs).
func FromConfig(awsCfg aws.Config, grantors []config.LeaseGrantor) []lease.Grantor {
	out := make([]lease.Grantor, 0, len(grantors))
	for _, g := range grantors {
		out = append(out, New(g.Name, client(awsCfg, g), g.Table))
	}
	return out
}

func client(awsCfg aws.Config, g config.LeaseGrantor) *dynamodb.Client {
	return dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		o.Region = g.Region
		if g.Endpoint != "" {
			o.BaseEndpoint = aws.String(g.Endpoint)
		}
	})
}

// HeartbeatKey is the partition key value of the standby's published heartbeat, in the standby
// region's own grantor table.
const HeartbeatKey = "standby-heartbeat"

// Board is the standby's heartbeat notice in its region's table: the standby's renewer writes the
// newest heartbeat its database replicated, and the orchestrator in that region reads it.
type Board struct {
	api   API
	table string
}

var _ lease.HeartbeatBoard = (*Board)(nil)

// NewBoard returns the board on table through api.
func NewBoard(api API, table string) *Board { return &Board{api: api, table: table} }

// LocalBoard returns the board in holder's own grantor table.
func LocalBoard(awsCfg aws.Config, l config.Lease) (*Board, error) {
	for _, g := range l.Grantors {
		if g.Name == l.Holder {
			return NewBoard(client(awsCfg, g), g.Table), nil
		}
	}
	return nil, fmt.Errorf("LEASE_GRANTORS has no grantor named %s (LEASE_HOLDER): each region's table must carry the region's name", l.Holder)
}

// PublishStandbyHeartbeat implements lease.HeartbeatBoard. The heartbeat only moves forward: a
// slow publisher cannot set it back.
func (b *Board) PublishStandbyHeartbeat(ctx context.Context, region string, at time.Time) error {
	_, err := b.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(b.table),
		Item: map[string]ddb.AttributeValue{
			"pk": &ddb.AttributeValueMemberS{Value: HeartbeatKey}, "region": &ddb.AttributeValueMemberS{Value: region},
			"heartbeatAt": millis(at),
		},
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #a <= :a"),
		ExpressionAttributeNames:  map[string]string{"#pk": "pk", "#a": "heartbeatAt"},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":a": millis(at)},
	})
	var ccf *ddb.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("publish the standby heartbeat in table %s: %w", b.table, err)
	}
	return nil
}

// StandbyHeartbeat returns the newest heartbeat the standby published; zero when none was.
func (b *Board) StandbyHeartbeat(ctx context.Context) (time.Time, error) {
	out, err := b.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(b.table), ConsistentRead: aws.Bool(true),
		Key: map[string]ddb.AttributeValue{"pk": &ddb.AttributeValueMemberS{Value: HeartbeatKey}}})
	if err != nil {
		return time.Time{}, fmt.Errorf("read the standby heartbeat from table %s: %w", b.table, err)
	}
	v, ok := out.Item["heartbeatAt"].(*ddb.AttributeValueMemberN)
	if !ok {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("the standby heartbeat in table %s is %q, not milliseconds", b.table, v.Value)
	}
	return time.UnixMilli(ms).UTC(), nil
}

var _ failover.StandbyHeartbeat = (*Board)(nil)

// OrchestratorPorts are the lease's ports for preflight and promote; all nil when the lease is
// not deployed (no grantors configured).
type OrchestratorPorts struct {
	Reader    failover.LeaseReader
	Taker     failover.LeaseTaker
	Heartbeat failover.StandbyHeartbeat
	Margin    time.Duration
}

// ForOrchestrator builds the orchestrator's lease ports from l.
func ForOrchestrator(awsCfg aws.Config, l config.Lease) (OrchestratorPorts, error) {
	if len(l.Grantors) == 0 {
		return OrchestratorPorts{}, nil
	}
	t := lease.Timings{RenewInterval: l.RenewInterval, TTL: l.TTL, CallTimeout: l.CallTimeout, Margin: l.Margin}
	if err := t.Validate(); err != nil {
		return OrchestratorPorts{}, err
	}
	board, err := LocalBoard(awsCfg, l)
	if err != nil {
		return OrchestratorPorts{}, err
	}
	q := &lease.Quorum{Grantors: FromConfig(awsCfg, l.Grantors), Timings: t}
	return OrchestratorPorts{Reader: q, Taker: q, Heartbeat: board, Margin: l.Margin}, nil
}

// Boards are the other grantors' tables, where the standby publishes its heartbeat: the writer
// reads them to hold RPO_MAX.
type Boards []*Board

var _ lease.StandbyReader = Boards(nil)

// PeerBoards returns the boards in every grantor table but the holder's own.
func PeerBoards(awsCfg aws.Config, l config.Lease) Boards {
	var out Boards
	for _, g := range l.Grantors {
		if g.Name != l.Holder {
			out = append(out, NewBoard(client(awsCfg, g), g.Table))
		}
	}
	return out
}

// StandbyHeartbeat returns the newest heartbeat any standby published; a table that cannot be
// read makes it unknown, since the standby's may be the one missing.
func (bs Boards) StandbyHeartbeat(ctx context.Context) (time.Time, error) {
	var newest time.Time
	for _, b := range bs {
		at, err := b.StandbyHeartbeat(ctx)
		if err != nil {
			return time.Time{}, err
		}
		if at.After(newest) {
			newest = at
		}
	}
	return newest, nil
}
