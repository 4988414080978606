package localcloud_test

import (
	"errors"
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
