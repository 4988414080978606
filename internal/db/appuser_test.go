package db

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestAppUserFromSecret(t *testing.T) {
	for _, tt := range []struct {
		name, secret, wantErr string
	}{
		{"username and password", secretJSON("todo_app", "app-pass-123", "", nil, ""), ""},
		{"no password", `{"username":"todo_app"}`, "username and password"},
		{"not JSON", `todo_app:app-pass-123`, "username and password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sm := newSecretStore(t, tt.secret)
			u, err := AppUserFromSecret(sm.client(), sm.arn)(context.Background())
			if tt.wantErr == "" {
				if err != nil || u.Name != "todo_app" || u.Password != "app-pass-123" {
					t.Fatalf("got %+v, %v; want todo_app with its password", u, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "DB_APP_SECRET_ARN") {
				t.Fatalf("got %v, want an error naming DB_APP_SECRET_ARN and %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "app-pass-123") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
	if AppUserSource(nil, "arn:app") != nil || AppUserSource(&aws.Config{}, "") != nil {
		t.Error("AppUserSource without AWS configuration or ARN must provision no user")
	}
}
