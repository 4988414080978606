package localcloud_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

func TestGetSecretValue(t *testing.T) {
	s := start(t, localcloud.Options{})
	arn := s.AddSecret(west, "canary-client", `{"client_id":"c","client_secret":"s"}`)
	c := secretsmanager.NewFromConfig(s.Config(west))
	for _, id := range []string{arn, "canary-client"} {
		out, err := c.GetSecretValue(ctx(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil || aws.ToString(out.SecretString) != `{"client_id":"c","client_secret":"s"}` {
			t.Errorf("GetSecretValue(%s) = %v, %v; want the stored string", id, out, err)
		}
	}
	_, err := c.GetSecretValue(ctx(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
	var nf *smtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown secret: got %v, want ResourceNotFoundException", err)
	}
}

// Secrets Manager answers with the secret's own ARN and name whatever identifier found it, finds
// a secret by its partial ARN (without the random suffix), serves only the current version, and
// only in the secret's region.
func TestGetSecretValueIdentity(t *testing.T) {
	s := start(t, localcloud.Options{})
	arn := s.AddSecret(west, "db", `{"password":"p"}`)
	if !strings.HasPrefix(arn, "arn:aws:secretsmanager:"+west+":"+localcloud.DefaultAccount+":secret:db-") || len(arn) != len("arn:aws:secretsmanager:"+west+":"+localcloud.DefaultAccount+":secret:db-")+6 {
		t.Fatalf("ARN %s, want the name followed by - and six characters", arn)
	}
	if again := s.AddSecret(west, "db", `{"password":"rotated"}`); again != arn {
		t.Errorf("a new version changed the ARN: %s, want %s", again, arn)
	}
	c := secretsmanager.NewFromConfig(s.Config(west))
	for _, id := range []string{"db", arn, arn[:len(arn)-7]} {
		out, err := c.GetSecretValue(ctx(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil || aws.ToString(out.ARN) != arn || aws.ToString(out.Name) != "db" || aws.ToString(out.SecretString) != `{"password":"rotated"}` {
			t.Errorf("GetSecretValue(%s) = %+v, %v; want ARN %s, name db, the current value", id, out, err, arn)
		}
	}
	out, err := c.GetSecretValue(ctx(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String("db"), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		t.Fatalf("AWSCURRENT: %v", err)
	}
	var nf *smtypes.ResourceNotFoundException
	for _, in := range []*secretsmanager.GetSecretValueInput{
		{SecretId: aws.String("db"), VersionStage: aws.String("AWSPREVIOUS")},
		{SecretId: aws.String("db"), VersionId: aws.String("not-" + aws.ToString(out.VersionId))},
	} {
		if _, err := c.GetSecretValue(ctx(t), in); !errors.As(err, &nf) {
			t.Errorf("GetSecretValue(%+v) = %v, want ResourceNotFoundException", in, err)
		}
	}
	if _, err := secretsmanager.NewFromConfig(s.Config(east)).GetSecretValue(ctx(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}); !errors.As(err, &nf) {
		t.Errorf("from another region: %v, want ResourceNotFoundException", err)
	}
}
