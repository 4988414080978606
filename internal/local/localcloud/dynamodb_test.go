package localcloud_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

func createTable(t *testing.T, c *dynamodb.Client, name string) {
	t.Helper()
	_, err := c.CreateTable(ctx(t), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		KeySchema:            []ddb.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddb.KeyTypeHash}},
		AttributeDefinitions: []ddb.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddb.ScalarAttributeTypeS}},
		BillingMode:          ddb.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable %s: %v", name, err)
	}
}

func s(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: v} }
func n(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberN{Value: v} }

func TestDynamoDBConditionalWrites(t *testing.T) {
	srv := start(t, localcloud.Options{})
	c := dynamodb.NewFromConfig(srv.Config(east))
	createTable(t, c, "lease")
	key := map[string]ddb.AttributeValue{"pk": s("k")}
	put := func(epoch, cond string, vals map[string]ddb.AttributeValue) error {
		in := &dynamodb.PutItemInput{TableName: aws.String("lease"), Item: map[string]ddb.AttributeValue{"pk": s("k"), "epoch": n(epoch)},
			ReturnValuesOnConditionCheckFailure: ddb.ReturnValuesOnConditionCheckFailureAllOld}
		if cond != "" {
			in.ConditionExpression = aws.String(cond)
			in.ExpressionAttributeNames = map[string]string{"#e": "epoch"}
			if strings.Contains(cond, "#pk") {
				in.ExpressionAttributeNames["#pk"] = "pk"
			}
			in.ExpressionAttributeValues = vals
		}
		_, err := c.PutItem(ctx(t), in)
		return err
	}
	if err := put("1", "attribute_not_exists(#pk) OR #e < :e", map[string]ddb.AttributeValue{":e": n("1")}); err != nil {
		t.Fatalf("first conditional put: %v", err)
	}
	err := put("1", "attribute_not_exists(#pk) OR #e < :e", map[string]ddb.AttributeValue{":e": n("1")})
	var ccf *ddb.ConditionalCheckFailedException
	if !errors.As(err, &ccf) || aws.ToString(ccf.Message) != "The conditional request failed" {
		t.Fatalf("repeated put = %v; want ConditionalCheckFailedException", err)
	}
	if got, ok := ccf.Item["epoch"].(*ddb.AttributeValueMemberN); !ok || got.Value != "1" {
		t.Errorf("ALL_OLD item = %v; want the old item with epoch 1", ccf.Item)
	}
	// Numbers compare as numbers, not strings: 10 > 9.
	if err := put("10", "#e < :e", map[string]ddb.AttributeValue{":e": n("10")}); err != nil {
		t.Fatalf("put epoch 10 over 1: %v", err)
	}
	if err := put("11", "#e < :e", map[string]ddb.AttributeValue{":e": n("9")}); !errors.As(err, &ccf) {
		t.Fatalf("put under #e < 9 with epoch 10 = %v; want ConditionalCheckFailedException", err)
	}

	_, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String("lease"), Key: key,
		UpdateExpression: aws.String("SET #x = :x, #r = :r"), ConditionExpression: aws.String("#e = :e AND NOT (#r = :r)"),
		ExpressionAttributeNames:  map[string]string{"#x": "expiresAt", "#r": "released", "#e": "epoch"},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":x": n("123"), ":r": &ddb.AttributeValueMemberBOOL{Value: true}, ":e": n("10")}})
	if err != nil {
		t.Fatalf("conditional update: %v", err)
	}
	out, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("lease"), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if x, ok := out.Item["expiresAt"].(*ddb.AttributeValueMemberN); !ok || x.Value != "123" || len(out.Item) != 4 {
		t.Errorf("item after update = %v; want pk, epoch, expiresAt=123, released", out.Item)
	}
}

func TestDynamoDBRefusesWhatAWSRefuses(t *testing.T) {
	srv := start(t, localcloud.Options{})
	c := dynamodb.NewFromConfig(srv.Config(east))
	createTable(t, c, "lease")
	item := map[string]ddb.AttributeValue{"pk": s("k")}
	for _, tc := range []struct {
		name string
		in   *dynamodb.PutItemInput
		code string
		msg  string
	}{
		{"missing table", &dynamodb.PutItemInput{TableName: aws.String("nope"), Item: item},
			"ResourceNotFoundException", "Requested resource not found"},
		{"item without its key", &dynamodb.PutItemInput{TableName: aws.String("lease"), Item: map[string]ddb.AttributeValue{"x": s("1")}},
			"ValidationException", "Missing the key pk in the item"},
		{"unused value", &dynamodb.PutItemInput{TableName: aws.String("lease"), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":x": n("1")}},
			"ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"},
		{"unused name", &dynamodb.PutItemInput{TableName: aws.String("lease"), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
			ExpressionAttributeNames: map[string]string{"#x": "x"}},
			"ValidationException", "Value provided in ExpressionAttributeNames unused in expressions: keys: {#x}"},
		{"undefined value", &dynamodb.PutItemInput{TableName: aws.String("lease"), Item: item, ConditionExpression: aws.String("a = :nope")},
			"ValidationException", "An expression attribute value used in expression is not defined; attribute value: :nope"},
		{"syntax", &dynamodb.PutItemInput{TableName: aws.String("lease"), Item: item, ConditionExpression: aws.String("a = = b")},
			"ValidationException", "Invalid ConditionExpression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutItem(ctx(t), tc.in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code || !strings.Contains(ae.ErrorMessage(), tc.msg) {
				t.Fatalf("PutItem = %v; want %s containing %q", err, tc.code, tc.msg)
			}
		})
	}
	// A table is regional: the same name in another region is another table, or none.
	_, err := dynamodb.NewFromConfig(srv.Config(west)).GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("lease"), Key: item})
	var nf *ddb.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("GetItem in %s = %v; want ResourceNotFoundException", west, err)
	}
	_, err = c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("lease"), Key: map[string]ddb.AttributeValue{"pk": n("1")}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Errorf("GetItem with a number key on a string-keyed table = %v; want ValidationException", err)
	}
}

// DynamoDB signs every response body with x-amz-crc32 and the SDK checks it: the stand-in's
// answers, successes and errors alike, pass the check (the SDK logs a warning on each one that
// does not, and retries a mismatch).
func TestDynamoDBResponsesCarryTheirCRC32(t *testing.T) {
	srv := start(t, localcloud.Options{})
	var mu sync.Mutex
	var logged []string
	cfg := srv.Config(east)
	cfg.Logger = logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, v...))
	})
	c := dynamodb.NewFromConfig(cfg)
	createTable(t, c, "crc")
	item := map[string]ddb.AttributeValue{"pk": s("k"), "v": n("1")}
	if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("crc"), Item: item}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("crc"), Key: map[string]ddb.AttributeValue{"pk": s("k")}, ConsistentRead: aws.Bool(true)})
	if err != nil || len(got.Item) != 2 {
		t.Fatalf("GetItem: %v, %v", got, err)
	}
	_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("crc"), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	var failed *ddb.ConditionalCheckFailedException
	if !errors.As(err, &failed) {
		t.Fatalf("conditional put on an existing item: %v, want ConditionalCheckFailedException", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, l := range logged {
		if strings.Contains(l, "checksum") {
			t.Errorf("the SDK logged %q: a response's x-amz-crc32 is missing or wrong", l)
		}
	}
}
