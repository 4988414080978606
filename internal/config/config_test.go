package config_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/config"
)

func env(vars map[string]string) config.Lookup {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestLoadTodoAPI(t *testing.T) {
	base := map[string]string{"AWS_REGION": "eu-west-1", "DB_AUTH": "dsn", "DB_DSN": "app:pw@tcp(127.0.0.1:3306)/switchyard",
		"CURSOR_KEY": "0123456789abcdef0123456789abcdef"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<unset>" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name    string
		vars    map[string]string
		wantErr []string // each must appear in the error
		check   func(t *testing.T, c config.TodoAPI)
	}{
		{name: "dsn defaults", vars: base, check: func(t *testing.T, c config.TodoAPI) {
			if c.Region != "eu-west-1" || c.Version != "dev" || c.DB.QueryTimeout != 3*time.Second || c.Tracing || c.DB.NeedsAWS() {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "version, timeout, tracing", vars: with("APP_VERSION", "1.4.0", "DB_QUERY_TIMEOUT", "1500ms", "AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000"), check: func(t *testing.T, c config.TodoAPI) {
			if c.Version != "1.4.0" || c.DB.QueryTimeout != 1500*time.Millisecond || !c.Tracing {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "iam", vars: with("DB_AUTH", "iam", "DB_DSN", "<unset>", "DB_ENDPOINT", "p.proxy-x.eu-west-1.rds.amazonaws.com:3306", "DB_USER", "todo_app", "DB_NAME", "switchyard"), check: func(t *testing.T, c config.TodoAPI) {
			if c.DB.Auth != config.DBAuthIAM || !c.DB.NeedsAWS() || c.DB.User != "todo_app" {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "iam with read-only endpoint", vars: with("DB_AUTH", "iam", "DB_DSN", "<unset>", "DB_ENDPOINT", "p.proxy-x.eu-west-1.rds.amazonaws.com:3306", "DB_READ_ONLY_ENDPOINT", "ro.endpoint.proxy-x.eu-west-1.rds.amazonaws.com:3306", "DB_USER", "todo_app", "DB_NAME", "switchyard"), check: func(t *testing.T, c config.TodoAPI) {
			ro, ok := c.DB.ReadOnly()
			if !ok || ro.Endpoint != "ro.endpoint.proxy-x.eu-west-1.rds.amazonaws.com:3306" || ro.User != "todo_app" || ro.Auth != config.DBAuthIAM || ro.ReadOnlyEndpoint != "" {
				t.Errorf("ReadOnly() = %+v, %v", ro, ok)
			}
		}},
		{name: "read-only endpoint without port", vars: with("DB_AUTH", "iam", "DB_ENDPOINT", "h:3306", "DB_READ_ONLY_ENDPOINT", "ro.example", "DB_USER", "u", "DB_NAME", "d"), wantErr: []string{"DB_READ_ONLY_ENDPOINT=\"ro.example\" must be host:port"}},
		{name: "read-only endpoint in dsn mode", vars: with("DB_READ_ONLY_ENDPOINT", "127.0.0.1:3307"), wantErr: []string{"DB_READ_ONLY_ENDPOINT needs DB_AUTH=secret or iam"}},
		{name: "secret with endpoint override", vars: with("DB_AUTH", "secret", "DB_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:x", "DB_ENDPOINT", "127.0.0.1:3307")},
		{name: "no region", vars: with("AWS_REGION", "<unset>"), wantErr: []string{"AWS_REGION"}},
		{name: "no mode", vars: with("DB_AUTH", "<unset>"), wantErr: []string{"DB_AUTH", "dsn, secret or iam"}},
		{name: "unknown mode", vars: with("DB_AUTH", "password"), wantErr: []string{"DB_AUTH=\"password\""}},
		{name: "dsn missing", vars: with("DB_DSN", "<unset>"), wantErr: []string{"DB_DSN is not set"}},
		{name: "dsn invalid, password kept out", vars: with("DB_DSN", "app:hunter2@tcp(127.0.0.1:3306)"), wantErr: []string{"DB_DSN is not a valid"}},
		{name: "secret without arn", vars: with("DB_AUTH", "secret"), wantErr: []string{"DB_SECRET_ARN"}},
		{name: "iam missing all", vars: with("DB_AUTH", "iam"), wantErr: []string{"DB_ENDPOINT", "DB_USER", "DB_NAME"}},
		{name: "iam endpoint without port", vars: with("DB_AUTH", "iam", "DB_ENDPOINT", "proxy.example", "DB_USER", "u", "DB_NAME", "d"), wantErr: []string{"DB_ENDPOINT=\"proxy.example\" must be host:port"}},
		{name: "timeout not a duration", vars: with("DB_QUERY_TIMEOUT", "3"), wantErr: []string{"DB_QUERY_TIMEOUT"}},
		{name: "timeout too long", vars: with("DB_QUERY_TIMEOUT", "5m"), wantErr: []string{"DB_QUERY_TIMEOUT", "shorter than the function's timeout"}},
		{name: "timeout zero", vars: with("DB_QUERY_TIMEOUT", "0s"), wantErr: []string{"DB_QUERY_TIMEOUT"}},
		{name: "cursor key", vars: base, check: func(t *testing.T, c config.TodoAPI) {
			if string(c.CursorKey) != "0123456789abcdef0123456789abcdef" {
				t.Errorf("CursorKey = %q, want the CURSOR_KEY value", c.CursorKey)
			}
		}},
		{name: "no cursor key", vars: with("CURSOR_KEY", "<unset>"), wantErr: []string{"CURSOR_KEY is not set", "openssl rand"}},
		{name: "blank cursor key", vars: with("CURSOR_KEY", "   "), wantErr: []string{"CURSOR_KEY is not set"}},
		{name: "short cursor key, not echoed", vars: with("CURSOR_KEY", "hunter2-hunter2-hunter2-hunter2"), wantErr: []string{"CURSOR_KEY has 31 characters", "at least 32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.LoadTodoAPI(env(tt.vars))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one mentioning %v", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestLoadMigrateSharesDBVariables(t *testing.T) {
	c, err := config.LoadMigrate(env(map[string]string{"AWS_REGION": "us-east-1", "DB_AUTH": "iam", "DB_ENDPOINT": "h:3306", "DB_USER": "migrator", "DB_NAME": "switchyard"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DB.Region != "us-east-1" || c.DB.User != "migrator" || c.DB.Endpoint != "h:3306" {
		t.Errorf("got %+v", c)
	}
	if _, err := config.LoadMigrate(env(map[string]string{"AWS_REGION": "us-east-1"})); err == nil || !strings.Contains(err.Error(), "DB_AUTH") {
		t.Errorf("err = %v, want one naming DB_AUTH", err)
	}
}

func TestLoadMigrateAppSecret(t *testing.T) {
	base := map[string]string{"AWS_REGION": "us-east-1", "DB_AUTH": "secret", "DB_SECRET_ARN": "arn:admin",
		"DB_APP_SECRET_ARN": "arn:app"}
	c, err := config.LoadMigrate(env(base))
	if err != nil || c.AppSecretARN != "arn:app" {
		t.Fatalf("got %+v, %v; want AppSecretARN arn:app", c, err)
	}
	local := map[string]string{"AWS_REGION": "us-east-1", "DB_AUTH": "dsn", "DB_DSN": "u:p@tcp(127.0.0.1:3306)/d",
		"DB_APP_SECRET_ARN": "arn:app"}
	if _, err := config.LoadMigrate(env(local)); err == nil || !strings.Contains(err.Error(), "DB_APP_SECRET_ARN") {
		t.Errorf("DB_APP_SECRET_ARN with DB_AUTH=dsn: got %v, want an error naming DB_APP_SECRET_ARN", err)
	}
}

func TestLoadMigrateResponseSeam(t *testing.T) {
	base := map[string]string{"AWS_REGION": "eu-west-1", "DB_AUTH": "dsn", "DB_DSN": "app:pw@tcp(127.0.0.1:3306)/switchyard"}
	c, err := config.LoadMigrate(env(base))
	if err != nil || len(c.Responses.TestHosts) != 0 || c.Responses.TestCAFile != "" {
		t.Errorf("deployed configuration: %+v %v, want no test hosts and no test CA", c.Responses, err)
	}
	seam := map[string]string{"CFN_RESPONSE_TEST_HOSTS": "127.0.0.1:8443, LocalHost:9443", "CFN_RESPONSE_TEST_CA_FILE": "/tmp/ca.pem"}
	for k, v := range base {
		seam[k] = v
	}
	c, err = config.LoadMigrate(env(seam))
	if err != nil || strings.Join(c.Responses.TestHosts, ",") != "127.0.0.1:8443,localhost:9443" {
		t.Errorf("seam: %+v %v", c.Responses, err)
	}
	delete(seam, "CFN_RESPONSE_TEST_CA_FILE")
	if _, err := config.LoadMigrate(env(seam)); err == nil || !strings.Contains(err.Error(), "CFN_RESPONSE_TEST_CA_FILE") {
		t.Errorf("test hosts without a CA: err = %v, want one naming CFN_RESPONSE_TEST_CA_FILE", err)
	}
	seam["CFN_RESPONSE_TEST_HOSTS"], seam["CFN_RESPONSE_TEST_CA_FILE"] = "no-port", "/tmp/ca.pem"
	if _, err := config.LoadMigrate(env(seam)); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("host without port: err = %v, want host:port", err)
	}
}

func TestLoadTodoAPIOriginSecrets(t *testing.T) {
	base := map[string]string{"DB_AUTH": "dsn", "DB_DSN": "u:p@tcp(127.0.0.1:3306)/todo", "AWS_REGION": "us-east-1", "CURSOR_KEY": strings.Repeat("k", 32)}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	long, other := strings.Repeat("a", 32), strings.Repeat("b", 40)
	tests := []struct {
		name    string
		vars    map[string]string
		want    []string
		wantErr string
	}{
		{"no edge", with(), nil, ""},
		{"current only", with("ORIGIN_SECRET", long), []string{long}, ""},
		{"rotation", with("ORIGIN_SECRET", other, "ORIGIN_SECRET_PREVIOUS", long), []string{other, long}, ""},
		{"previous without current", with("ORIGIN_SECRET_PREVIOUS", long), nil, "ORIGIN_SECRET_PREVIOUS is set without ORIGIN_SECRET"},
		{"too short", with("ORIGIN_SECRET", "short"), nil, "ORIGIN_SECRET is 5 characters long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.LoadTodoAPI(env(tt.vars))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "short\"") {
					t.Fatalf("got %v, want an error saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.OriginSecrets, tt.want) {
				t.Errorf("secrets: got %d values, want %d", len(c.OriginSecrets), len(tt.want))
			}
		})
	}
}
