package drill

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestCheckIntegrity(t *testing.T) {
	acked := []Write{
		{Task: "drill r-c0-n0", ID: "1", Acked: at(10)},
		{Task: "drill r-c0-n2", ID: "2", Acked: at(20)},
		{Task: "drill r-c1-n0", ID: "3", Acked: at(30)},
	}
	tests := []struct {
		name     string
		rows     []Row
		wantLost []string
		wantDup  []string
	}{
		{"all present", []Row{{"1", "drill r-c0-n0"}, {"2", "drill r-c0-n2"}, {"3", "drill r-c1-n0"}}, nil, nil},
		{"one missing", []Row{{"1", "drill r-c0-n0"}, {"3", "drill r-c1-n0"}}, []string{"2"}, nil},
		{"stored under another id", []Row{{"1", "drill r-c0-n0"}, {"9", "drill r-c0-n2"}, {"3", "drill r-c1-n0"}}, []string{"2"}, nil},
		{"duplicate", []Row{{"1", "drill r-c0-n0"}, {"2", "drill r-c0-n2"}, {"3", "drill r-c1-n0"}, {"4", "drill r-c1-n0"}}, nil, []string{"drill r-c1-n0"}},
		{"unacknowledged extra row is fine", []Row{{"1", "drill r-c0-n0"}, {"2", "drill r-c0-n2"}, {"3", "drill r-c1-n0"}, {"5", "drill r-c2-n0"}}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckIntegrity(acked, tc.rows)
			var lost []string
			for _, w := range got.Lost {
				lost = append(lost, w.ID)
			}
			if fmt.Sprint(lost) != fmt.Sprint(tc.wantLost) {
				t.Errorf("lost = %v, want %v", lost, tc.wantLost)
			}
			if fmt.Sprint(got.Duplicates) != fmt.Sprint(tc.wantDup) {
				t.Errorf("duplicates = %v, want %v", got.Duplicates, tc.wantDup)
			}
			if got.Acked != 3 {
				t.Errorf("acked = %d, want 3", got.Acked)
			}
		})
	}
}

func TestOutages(t *testing.T) {
	ok := func(op string, start, lat int) Attempt {
		return Attempt{Op: op, Start: at(start), Latency: time.Duration(lat) * time.Millisecond, Status: 201}
	}
	fail := func(op string, start, status int) Attempt {
		return Attempt{Op: op, Start: at(start), Latency: time.Millisecond, Status: status}
	}
	slowFail := func(op string, start, lat int) Attempt {
		return Attempt{Op: op, Start: at(start), Latency: time.Duration(lat) * time.Millisecond, Err: "timeout"}
	}
	tests := []struct {
		name     string
		fault    int
		attempts []Attempt
		want     string
	}{
		{"no failure", 0, []Attempt{ok("write", 0, 5), ok("read", 5, 5)}, "[]"},
		{"write outage", 0, []Attempt{ok("write", 0, 5), fail("write", 100, 503), fail("write", 200, 0), ok("write", 700, 20)}, "[write 620ms]"},
		{"a success started before the failure does not end it", 0, []Attempt{fail("write", 100, 503), ok("write", 50, 100), ok("write", 300, 10)}, "[write 210ms]"},
		{"404 is an answer, not an outage", 0, []Attempt{fail("read", 100, 404)}, "[]"},
		{"never recovered", 0, []Attempt{fail("read", 100, 502)}, "[read 900ms open]"},
		// The fault at 300: a request in flight since 250 times out; one started at 290 succeeds at
		// 305 (it began before the fault: not a recovery); the first request started after the
		// fault to succeed ends at 820.
		{"measured from the fault, in-flight success ignored", 300,
			[]Attempt{slowFail("write", 250, 400), ok("write", 290, 15), fail("write", 310, 503), ok("write", 800, 20)}, "[write 520ms]"},
		// Measured per kind: reads failed later than the fault and recovered sooner.
		{"per kind, from the first failure after the fault", 300,
			[]Attempt{fail("write", 310, 503), ok("read", 320, 5), fail("read", 400, 503), ok("read", 500, 10), ok("write", 900, 10)}, "[write 600ms, read 110ms]"},
		{"a failure over before the fault is not this outage", 300, []Attempt{fail("write", 100, 503), ok("write", 200, 5)}, "[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fault time.Time
			if tc.fault > 0 {
				fault = at(tc.fault)
			}
			var got []string
			for _, o := range Outages(tc.attempts, fault) {
				s := fmt.Sprintf("%s %v", o.Op, o.RTO(at(1000)))
				if !o.Recovered {
					s += " open"
				}
				got = append(got, s)
			}
			if g := "[" + strings.Join(got, ", ") + "]"; g != tc.want {
				t.Errorf("outages = %s, want %s", g, tc.want)
			}
		})
	}
}

func TestWriteHTMLIsSelfContained(t *testing.T) {
	r := &ScenarioReport{
		Name: Switchover, Start: at(0), End: at(4000), TargetRTO: 3 * time.Second, RTO: 420 * time.Millisecond,
		Phases:   []Phase{{Name: "steady load", Start: at(0), End: at(1500)}, {Name: "db: promote <region-b>", Start: at(1600), End: at(1620)}},
		Attempts: []Attempt{{Op: "write", Start: at(100), Latency: 4 * time.Millisecond, Status: 201}, {Op: "write", Start: at(1700), Latency: time.Millisecond, Status: 503}},
		Outcomes: map[string]int{"write 201": 1, "write 503": 1},
	}
	r.failf("an invariant")
	var buf bytes.Buffer
	if err := WriteHTML(&buf, []*ScenarioReport{r}, at(5000)); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{"<svg", "<circle", "steady load", "db: promote &lt;region-b&gt;", "FAIL", "an invariant"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Nothing may be fetched: no scripts, stylesheets or images from elsewhere.
	if m := regexp.MustCompile(`(?i)<script|<link|<img|src=|url\(`).FindString(html); m != "" {
		t.Errorf("report refers to something outside itself: %q", m)
	}
}

func TestPreflightSaysWhatToInstall(t *testing.T) {
	// Outside the checkout and with nothing on PATH, neither MariaDB nor Node.js can be found.
	t.Chdir(t.TempDir())
	t.Setenv("PATH", "")
	t.Setenv("SWITCHYARD_NODE", "")
	err := Preflight()
	if err == nil {
		t.Fatal("Preflight with nothing installed succeeded")
	}
	for _, want := range []string{"apt-get install -y mariadb-server", "npm ci"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Preflight error %q does not say %q", err, want)
		}
	}
}

func TestCountOutcomes(t *testing.T) {
	got := CountOutcomes([]Attempt{
		{Op: "write", Status: 201}, {Op: "write", Status: 201}, {Op: "write", Status: 503},
		{Op: "read", Err: "connection refused"}, {Op: "read", Status: 200},
	})
	want := map[string]int{"write 201": 2, "write 503": 1, "read no answer (connection refused)": 1, "read 200": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
