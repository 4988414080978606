package awsadapter

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretReader is the part of the Secrets Manager client the canary's credentials need.
type SecretReader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretReader = (*secretsmanager.Client)(nil)

// ClientSecret reads an OAuth client's ID and secret from the secret at arn, a JSON object
// {"client_id", "client_secret"}; it is read on each call, which the token cache makes rare.
func ClientSecret(sm SecretReader, arn string) func(ctx context.Context) (id, secret string, err error) {
	return func(ctx context.Context) (string, string, error) {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return "", "", classify("secretsmanager GetSecretValue "+arn+" (CANARY_CLIENT_SECRET_ARN)", err)
		}
		var c struct {
			ID     string `json:"client_id"`
			Secret string `json:"client_secret"`
		}
		if out.SecretString == nil || json.Unmarshal([]byte(*out.SecretString), &c) != nil || c.ID == "" || c.Secret == "" {
			return "", "", fmt.Errorf("secret %s (CANARY_CLIENT_SECRET_ARN) is not a JSON object with client_id and client_secret", arn)
		}
		return c.ID, c.Secret, nil
	}
}
