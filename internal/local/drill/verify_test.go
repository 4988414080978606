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
	tests := []struct {
		name     string
		attempts []Attempt
		want     string
	}{
		{"no failure", []Attempt{ok("write", 0, 5), ok("read", 5, 5)}, "[]"},
		{"write outage", []Attempt{ok("write", 0, 5), fail("write", 100, 503), fail("write", 200, 0), ok("write", 700, 20)}, "[write 620ms]"},
		{"a success started before the failure does not end it", []Attempt{fail("write", 100, 503), ok("write", 50, 100), ok("write", 300, 10)}, "[write 210ms]"},
		{"404 is an answer, not an outage", []Attempt{fail("read", 100, 404)}, "[]"},
		{"never recovered", []Attempt{fail("read", 100, 502)}, "[read 900ms open]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, o := range Outages(tc.attempts) {
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

// TestViolations feeds the drill's invariant check crafted outcomes: each tolerance a broken check
// could grant (one lost write after a planned switchover, one duplicate, an unplanned loss outside
// the transactions the failover lost or beyond the GTID gap) must be reported.
func TestViolations(t *testing.T) {
	w := func(id, task string) Write { return Write{ID: id, Task: task, Acked: at(10)} }
	row := func(id, task string) Row { return Row{ID: id, Task: task} }
	clean := Integrity{Acked: 40, Rows: 40}
	tests := []struct {
		name     string
		scenario string
		in       Integrity
		diverged []Row
		gap      uint64
		want     []string
	}{
		{"switchover, nothing lost", Switchover, clean, nil, 0, nil},
		{"switchover, one write lost", Switchover, Integrity{Acked: 40, Lost: []Write{w("7", "drill r-c0-n3")}}, nil, 0,
			[]string{"1 acknowledged writes are missing after a switchover, which must lose nothing"}},
		{"failback, one write lost", Failback, Integrity{Acked: 40, Lost: []Write{w("7", "drill r-c0-n3")}}, nil, 5,
			[]string{"1 acknowledged writes are missing after a failback, which must lose nothing"}},
		{"switchover, one duplicate", Switchover, Integrity{Acked: 40, Duplicates: []string{"drill r-c1-n2"}}, nil, 0,
			[]string{"1 writes were stored twice"}},
		{"unplanned, one duplicate", Unplanned, Integrity{Acked: 40, Duplicates: []string{"drill r-c1-n2"}}, nil, 0,
			[]string{"1 writes were stored twice"}},
		{"nothing acknowledged", Switchover, Integrity{}, nil, 0, []string{"no write was acknowledged: the load did not run"}},
		{"unplanned, losses within the gap and among the lost transactions", Unplanned,
			Integrity{Acked: 40, Lost: []Write{w("7", "drill r-c0-n3"), w("8", "drill r-c1-n3")}},
			[]Row{row("7", "drill r-c0-n3"), row("8", "drill r-c1-n3")}, 2, nil},
		{"unplanned, a loss the failover did not lose", Unplanned,
			Integrity{Acked: 40, Lost: []Write{w("7", "drill r-c0-n3"), w("9", "drill r-c2-n0")}},
			[]Row{row("7", "drill r-c0-n3")}, 5,
			[]string{`acknowledged write 9 ("drill r-c2-n0") is missing but was not among the transactions the failover lost`}},
		{"unplanned, one loss beyond the GTID gap", Unplanned,
			Integrity{Acked: 40, Lost: []Write{w("7", "drill r-c0-n3"), w("8", "drill r-c1-n3"), w("9", "drill r-c2-n3")}},
			[]Row{row("7", "drill r-c0-n3"), row("8", "drill r-c1-n3"), row("9", "drill r-c2-n3")}, 2,
			[]string{"3 acknowledged writes lost, more than the GTID gap of 2 transactions"}},
		{"unplanned, a loss with no gap at all", Unplanned,
			Integrity{Acked: 40, Lost: []Write{w("7", "drill r-c0-n3")}}, []Row{row("7", "drill r-c0-n3")}, 0,
			[]string{"1 acknowledged writes lost, more than the GTID gap of 0 transactions"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Violations(tc.scenario, tc.in, tc.diverged, tc.gap)
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("violations:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestOutageEndsOnlyAfterItsFirstFailure: the RTO window closes at the end of the first success
// that started after the first failure; a success that started at the same instant or earlier
// (and finished later) does not close it, whatever order the attempts were recorded in.
func TestOutageEndsOnlyAfterItsFirstFailure(t *testing.T) {
	fail := Attempt{Op: "write", Start: at(100), Latency: time.Millisecond, Status: 503}
	sameStart := Attempt{Op: "write", Start: at(100), Latency: 300 * time.Millisecond, Status: 201}
	earlier := Attempt{Op: "write", Start: at(90), Latency: 500 * time.Millisecond, Status: 201}
	later := Attempt{Op: "write", Start: at(400), Latency: 50 * time.Millisecond, Status: 201}
	for _, attempts := range [][]Attempt{
		{fail, sameStart, earlier, later},
		{later, sameStart, fail, earlier},
		{earlier, fail, sameStart, later},
	} {
		got := Outages(attempts)
		if len(got) != 1 || !got[0].Recovered || !got[0].First.Equal(at(100)) || !got[0].Back.Equal(at(450)) {
			t.Fatalf("outages of %v: got %+v, want one from +100ms back at +450ms", attempts, got)
		}
		if rto := got[0].RTO(at(1000)); rto != 350*time.Millisecond {
			t.Errorf("RTO: got %v, want 350ms", rto)
		}
	}
	t.Run("reads and writes apart", func(t *testing.T) {
		got := Outages([]Attempt{fail, {Op: "read", Start: at(200), Latency: time.Millisecond, Status: 200}})
		if len(got) != 1 || got[0].Op != "write" || got[0].Recovered {
			t.Errorf("got %+v, want one open write outage: a read's success does not end it", got)
		}
	})
	t.Run("no answer is a failure", func(t *testing.T) {
		got := Outages([]Attempt{{Op: "read", Start: at(10), Err: "connection refused"}, {Op: "read", Start: at(20), Latency: time.Millisecond, Status: 499}})
		if len(got) != 1 || got[0].Op != "read" || !got[0].Back.Equal(at(21)) {
			t.Errorf("got %+v, want a read outage from +10ms to +21ms", got)
		}
	})
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
