package dynamolease_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/lease"
	"github.com/switchyard-dr/switchyard/internal/lease/dynamolease"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

const table = "switchyard-lease"

// grantors makes one table in each of three regions of the emulator, as the deployed stacks do.
func grantors(t *testing.T, srv *localcloud.Server) []lease.Grantor {
	t.Helper()
	var out []lease.Grantor
	for _, region := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
		c := dynamodb.NewFromConfig(srv.Config(region), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
		_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
			TableName:            aws.String(table),
			KeySchema:            []ddb.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddb.KeyTypeHash}},
			AttributeDefinitions: []ddb.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddb.ScalarAttributeTypeS}},
			BillingMode:          ddb.BillingModePayPerRequest,
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, dynamolease.New(region, c, table))
	}
	return out
}

func TestQuorumOnDynamoDB(t *testing.T) {
	srv, err := localcloud.Start(localcloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	q := &lease.Quorum{Grantors: grantors(t, srv), Timings: lease.DefaultTimings(), Now: func() time.Time { return now }}

	l, err := q.Take(ctx, "region-a")
	if err != nil || l.Epoch != 1 {
		t.Fatalf("Take = %+v, %v", l, err)
	}
	v, err := q.Read(ctx)
	if err != nil || v.Holder != "region-a" || v.Epoch != 1 || !v.Expires.Equal(now.Add(10*time.Second)) || !v.Since.Equal(now) {
		t.Fatalf("Read = %+v, %v", v, err)
	}
	// The witness region goes down: the two regions still make a majority.
	srv.SetRegionDown("eu-west-1", true)
	now = now.Add(2 * time.Second)
	if _, err := q.Renew(ctx, "region-a", 1); err != nil {
		t.Fatalf("renew with the witness down: %v", err)
	}
	// And no takeover is possible while the lease lives.
	var held *lease.HeldError
	if _, err := q.Take(ctx, "region-b"); !errors.As(err, &held) {
		t.Fatalf("takeover of a live lease = %v; want HeldError", err)
	}
	srv.SetRegionDown("eu-west-1", false)
	now = now.Add(13 * time.Second)
	if l, err = q.Take(ctx, "region-b"); err != nil || l.Epoch != 2 {
		t.Fatalf("takeover after expiry + margin = %+v, %v", l, err)
	}
	_, err = q.Renew(ctx, "region-a", 1)
	var nm *lease.NoMajorityError
	if !errors.As(err, &nm) || !nm.Conflict || nm.Got != 0 {
		t.Fatalf("old holder's renewal = %v; want refused by every grantor as a conflict", err)
	}
	if err := q.Release(ctx, "region-b", 2); err != nil {
		t.Fatal(err)
	}
	if l, err = q.Take(ctx, "region-a"); err != nil || l.Epoch != 3 {
		t.Fatalf("take after release = %+v, %v", l, err)
	}
	// Two grantors unreachable: no majority, which the state machine retries rather than refuses.
	srv.SetRegionDown("us-west-2", true)
	srv.SetRegionDown("eu-west-1", true)
	now = now.Add(time.Minute)
	var unavailable *failover.LeaseUnavailableError
	if _, err := q.TakeLease(ctx, "region-b"); !errors.As(err, &unavailable) {
		t.Fatalf("TakeLease with two grantors down = %v; want LeaseUnavailableError", err)
	}
}
