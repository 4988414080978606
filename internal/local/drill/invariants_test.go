package drill

import (
	"strings"
	"testing"
	"time"
)

// The drill's invariant checks fed crafted outcomes: each must fail a scenario for a single lost
// write where none may be lost, a single duplicate, or no write at all, and pass a clean one.
func TestHoldWriteInvariants(t *testing.T) {
	one := []Write{{ID: "7", Task: "drill r-c0-n3", Acked: at(10)}}
	for _, tc := range []struct {
		name        string
		integrity   Integrity
		lossAllowed bool
		want        string // a failure containing this, or "" for none
	}{
		{"clean switchover", Integrity{Acked: 40}, false, ""},
		{"one lost write after a switchover", Integrity{Acked: 40, Lost: one}, false, "1 acknowledged writes are missing"},
		{"lost writes where loss is allowed: held by the lease's window instead", Integrity{Acked: 40, Lost: one}, true, ""},
		{"one duplicate", Integrity{Acked: 40, Duplicates: []string{"drill r-c0-n3"}}, false, "1 writes were stored twice"},
		{"one duplicate where loss is allowed", Integrity{Acked: 40, Duplicates: []string{"drill r-c0-n3"}}, true, "stored twice"},
		{"no write acknowledged", Integrity{}, true, "the load did not run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &ScenarioReport{Name: Switchover, Integrity: tc.integrity}
			holdWriteInvariants(rep, tc.lossAllowed)
			switch {
			case tc.want == "" && !rep.Passed():
				t.Errorf("failures %v, want none", rep.Failures)
			case tc.want != "" && (len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], tc.want)):
				t.Errorf("failures %v, want exactly one saying %q", rep.Failures, tc.want)
			}
		})
	}
}

// checkLossWindow: region A acknowledged nothing after its lease ended, every lost write sits inside
// the window the notification reported, and the measured span does not exceed the estimate.
func TestCheckLossWindow(t *testing.T) {
	e := &Env{A: &Region{Name: "region-a", AWSRegion: "us-east-1"}, B: &Region{Name: "region-b", AWSRegion: "us-west-2"}}
	end := at(5000) // region A's lease ended here
	write := func(id string, ackedMs int, region string) Write {
		return Write{ID: id, Task: "drill r-" + id, Acked: at(ackedMs), Region: region}
	}
	for _, tc := range []struct {
		name       string
		acked      []Write
		lost       []string
		reportedMs int64
		want       string
	}{
		{"loss inside the reported window", []Write{write("1", 4200, "us-east-1"), write("2", 4900, "us-east-1"), write("3", 6000, "us-west-2")},
			[]string{"1", "2"}, 1000, ""},
		{"a write acknowledged by A after its lease", []Write{write("1", 4200, "us-east-1"), write("2", 5001, "us-east-1")},
			nil, 1000, "acknowledged 1 writes after its lease ended"},
		{"a lost write before the reported window", []Write{write("1", 3500, "us-east-1"), write("2", 4900, "us-east-1")},
			[]string{"1"}, 1000, "outside the reported data-loss window"},
		{"loss with no estimate reported", []Write{write("1", 4900, "us-east-1")},
			[]string{"1"}, -1, "outside the reported data-loss window"},
		{"B's writes after A's lease are fine", []Write{write("1", 4900, "us-east-1"), write("2", 9000, "us-west-2")},
			nil, 0, ""},
		{"a 0 ms estimate covers a loss at the lease's very end", []Write{write("1", 5000, "us-east-1")},
			[]string{"1"}, 0, ""},
		{"a 0 ms estimate does not cover one a millisecond earlier", []Write{write("1", 4999, "us-east-1")},
			[]string{"1"}, 0, "outside the reported data-loss window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &ScenarioReport{Name: Partition, Start: at(0), Lease: &LeaseOutcome{ReportedLossWindowMs: tc.reportedMs}}
			rep.Integrity.Acked = len(tc.acked)
			for _, id := range tc.lost {
				for _, w := range tc.acked {
					if w.ID == id {
						rep.Integrity.Lost = append(rep.Integrity.Lost, w)
					}
				}
			}
			e.checkLossWindow(rep, tc.acked, end)
			got := strings.Join(rep.Failures, "; ")
			switch {
			case tc.want == "" && got != "":
				t.Errorf("failures %q, want none", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("failures %q, want one saying %q", got, tc.want)
			}
			if tc.want == "" && len(tc.lost) > 0 && rep.Lease.MeasuredLossWindow != end.Sub(tc.acked[0].Acked) {
				t.Errorf("measured loss window %s, want %s (from the earliest lost write to the lease's end)", rep.Lease.MeasuredLossWindow, end.Sub(tc.acked[0].Acked))
			}
		})
	}
	// The estimate must cover what was measured: a notification that allowed less fails, naming the
	// write outside it.
	rep := &ScenarioReport{Name: Partition, Start: at(0), Lease: &LeaseOutcome{ReportedLossWindowMs: 500}}
	lost := write("1", 4400, "us-east-1")
	rep.Integrity = Integrity{Acked: 1, Lost: []Write{lost}}
	e.checkLossWindow(rep, []Write{lost}, end)
	if len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], "lost write 1 ") || rep.Lease.MeasuredLossWindow != 600*time.Millisecond {
		t.Errorf("a 600 ms loss under a 500 ms estimate: failures %v, measured %s; want it failed", rep.Failures, rep.Lease.MeasuredLossWindow)
	}
}
