package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/config"
)

const grantors = "us-east-1=us-east-1/switchyard-lease,us-west-2=us-west-2/switchyard-lease,witness=eu-west-1/switchyard-witness"

func TestLoadLease(t *testing.T) {
	l, err := config.LoadLease(env(map[string]string{"AWS_REGION": "us-east-1", "LEASE_GRANTORS": grantors,
		"LEASE_GRANTOR_ENDPOINTS": "witness=http://127.0.0.1:4566", "LEASE_TTL": "1500ms"}))
	if err != nil {
		t.Fatal(err)
	}
	if l.Holder != "us-east-1" || len(l.Grantors) != 3 || l.Grantors[2] != (config.LeaseGrantor{Name: "witness", Region: "eu-west-1", Table: "switchyard-witness", Endpoint: "http://127.0.0.1:4566"}) {
		t.Errorf("LoadLease = %+v", l)
	}
	if l.TTL != 1500*time.Millisecond || l.RenewInterval != 2*time.Second || l.Margin != 2*time.Second || l.RunFor != 110*time.Second {
		t.Errorf("timings = %+v; want TTL from LEASE_TTL and the defaults", l)
	}
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"no holder", map[string]string{"LEASE_GRANTORS": grantors}, "LEASE_HOLDER is not set"},
		{"two grantors", map[string]string{"AWS_REGION": "x", "LEASE_GRANTORS": "a=r/t,b=r/t"}, "needs an odd number, at least 3"},
		{"malformed grantor", map[string]string{"AWS_REGION": "x", "LEASE_GRANTORS": "a=r,b=r/t,c=r/t"}, `LEASE_GRANTORS entry "a=r"`},
		{"duplicate grantor", map[string]string{"AWS_REGION": "x", "LEASE_GRANTORS": "a=r/t,a=r/t,c=r/t"}, `LEASE_GRANTORS entry "a=r/t"`},
		{"endpoint of no grantor", map[string]string{"AWS_REGION": "x", "LEASE_GRANTORS": grantors, "LEASE_GRANTOR_ENDPOINTS": "nope=http://x"}, "LEASE_GRANTOR_ENDPOINTS entry"},
		{"bad duration", map[string]string{"AWS_REGION": "x", "LEASE_GRANTORS": grantors, "LEASE_MARGIN": "-1s"}, "LEASE_MARGIN"},
		{"RPO_MAX too tight", map[string]string{"AWS_REGION": "x", "LEASE_GRANTORS": grantors, "RPO_MAX": "5s"}, "RPO_MAX=5s is below"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := config.LoadLease(env(tc.vars)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestWriterLeaseSwitch(t *testing.T) {
	base := map[string]string{"AWS_REGION": "eu-west-1", "DB_AUTH": "dsn", "DB_DSN": "app:pw@tcp(127.0.0.1:3306)/switchyard", "CURSOR_KEY": "a cursor key of thirty-two bytes!"}
	for v, want := range map[string]string{"": "", "off": "", "on": "eu-west-1"} {
		base["WRITER_LEASE"] = v
		c, err := config.LoadTodoAPI(env(base))
		if err != nil || c.LeaseHolder != want {
			t.Errorf("WRITER_LEASE=%q: LeaseHolder %q, %v; want %q", v, c.LeaseHolder, err, want)
		}
	}
	base["WRITER_LEASE"] = "yes"
	if _, err := config.LoadTodoAPI(env(base)); err == nil || !strings.Contains(err.Error(), "WRITER_LEASE") {
		t.Errorf("WRITER_LEASE=yes: err %v, want one naming WRITER_LEASE", err)
	}
}
