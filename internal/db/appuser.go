package db

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/switchyard-dr/switchyard/internal/schema"
)

// AppUserSource reads the application user's credentials from the secret at arn (username and
// password, the secret RDS Proxy authenticates that user with). It returns nil when arn is empty or
// there is no AWS configuration: the migrate function then provisions no user.
func AppUserSource(awsCfg *aws.Config, arn string) func(context.Context) (schema.AppUser, error) {
	if arn == "" || awsCfg == nil {
		return nil
	}
	return AppUserFromSecret(secretsmanager.NewFromConfig(*awsCfg), arn)
}

// AppUserFromSecret reads the application user's credentials through sm.
func AppUserFromSecret(sm SecretGetter, arn string) func(context.Context) (schema.AppUser, error) {
	return func(ctx context.Context) (schema.AppUser, error) {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return schema.AppUser{}, fmt.Errorf("read secret %s (DB_APP_SECRET_ARN): %w", arn, err)
		}
		var sec dbSecret
		if out.SecretString == nil || json.Unmarshal([]byte(*out.SecretString), &sec) != nil || sec.Username == "" || sec.Password == "" {
			return schema.AppUser{}, fmt.Errorf("secret %s (DB_APP_SECRET_ARN) is not a JSON object with username and password", arn)
		}
		return schema.AppUser{Name: sec.Username, Password: sec.Password}, nil
	}
}
