package rdsproxy

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// presign builds an RDS IAM token as auth.BuildAuthToken does, with a chosen signing time and
// X-Amz-Expires.
func presign(t *testing.T, endpoint, user, region, key, secret string, at time.Time, expires string) string {
	t.Helper()
	q := url.Values{"Action": {"connect"}, "DBUser": {user}, "X-Amz-Expires": {expires}}
	req, err := http.NewRequest(http.MethodGet, "https://"+endpoint+"/?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req, emptyPayloadHash, signingService, region, at)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(signed, "https://")
}

func TestCheckToken(t *testing.T) {
	const ep, user, region, key, secret = "127.0.0.1:4406", "todo_app", "us-west-2", "AKIALOCAL", "local-secret"
	creds := map[string]string{key: secret}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	good := presign(t, ep, user, region, key, secret, now, "900")
	tests := []struct {
		name, token, want string
		at                time.Time
	}{
		{"valid", good, "", now},
		{"valid 14 minutes later", good, "", now.Add(14 * time.Minute)},
		{"expired after 15 minutes", good, "expired", now.Add(15*time.Minute + time.Second)},
		{"lifetime above 15 minutes", presign(t, ep, user, region, key, secret, now, "3600"), "X-Amz-Expires", now},
		{"signed in the future", good, "future", now.Add(-10 * time.Minute)},
		{"other endpoint", presign(t, "127.0.0.1:4407", user, region, key, secret, now, "900"), "not this endpoint", now},
		{"other user", presign(t, ep, "admin", region, key, secret, now, "900"), "user", now},
		{"other region", presign(t, ep, user, "eu-west-1", key, secret, now, "900"), "region", now},
		{"unknown access key", presign(t, ep, user, region, "AKIAOTHER", secret, now, "900"), "unknown access key", now},
		{"wrong secret", presign(t, ep, user, region, key, "other-secret", now, "900"), "signature", now},
		{"changed after signing", strings.Replace(good, "X-Amz-Expires=900", "X-Amz-Expires=899", 1), "signature", now},
		{"not a token", "todo-app-password", "not an IAM authentication token", now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkToken(tt.token, ep, user, region, creds, tt.at)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
