package replication

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
)

func TestParsePosition(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "", want: ""},
		{in: "0-1-42", want: "0-1-42"},
		{in: "1-3-7,0-1-42", want: "0-1-42,1-3-7"},
		{in: "0-1", wantErr: true},
		{in: "0-x-1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePosition(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParsePosition(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err == nil && got.String() != tc.want {
				t.Errorf("ParsePosition(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestBehind(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       uint64
	}{
		{"equal", "0-1-10", "0-1-10", 0},
		{"ahead", "0-1-15", "0-1-10", 5},
		{"other server same domain", "0-2-15", "0-1-10", 5},
		{"behind counts nothing", "0-1-10", "0-1-15", 0},
		{"domain missing", "0-1-3,1-1-4", "0-1-3", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := ParsePosition(tc.a)
			b, _ := ParsePosition(tc.b)
			if got := a.Behind(b); got != tc.want {
				t.Errorf("%s.Behind(%s) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

const appDB = "app"

// startPair starts two servers, makes b a replica of a, and creates the app database and user
// on a (they replicate). It returns the pair and the app DSN of each server.
func startPair(t *testing.T) (*Pair, map[*mariadb.Server]string) {
	t.Helper()
	a := mariadbtest.Start(t, mariadb.Options{Name: "region-a", ServerID: 1})
	b := mariadbtest.Start(t, mariadb.Options{Name: "region-b", ServerID: 2})
	ctx := context.Background()
	p, err := Setup(ctx, a, b, Options{User: "repl", Password: "repl-password", Databases: []string{appDB}, CatchUpTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if _, err := a.CreateApp(ctx, appDB, "app", "app-password"); err != nil {
		t.Fatal(err)
	}
	if err := a.Exec(ctx, "CREATE TABLE app.items (id INT PRIMARY KEY, note VARCHAR(40) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	// Every test starts from a synchronised pair: tests that cut replication count on region-b
	// having the database, the user and the table.
	deadline := time.Now().Add(5 * time.Second)
	for {
		lag, err := p.ReplicationLag(ctx)
		if err == nil && lag.Transactions == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("region-b did not catch up with the setup: lag %+v, %v", lag, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return p, map[*mariadb.Server]string{a: a.DSN("app", "app-password", appDB), b: b.DSN("app", "app-password", appDB)}
}

func openApp(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ids(s *mariadb.Server) ([]int, error) {
	db, err := s.Admin()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query("SELECT id FROM app.items ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// waitRows waits until s holds exactly want (replication is asynchronous).
func waitRows(t *testing.T, s *mariadb.Server, want []int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := ids(s) // the table itself may not have replicated yet
		if err == nil && fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s rows = %v (%v), want %v", s.Name, got, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitReplicating waits until s is a read-only replica with both replication threads running.
func waitReplicating(t *testing.T, p *Pair, s *mariadb.Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := p.Status(context.Background(), s)
		if st.Replicating && st.ReadOnly {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: read_only=%v replicating=%v (%s), want a read-only running replica", s.Name, st.ReadOnly, st.Replicating, st.LastError)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isReadOnlyRefusal(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1290
}

func TestSwitchoverUnderLoadLosesNothing(t *testing.T) {
	p, dsn := startPair(t)
	a, b := p.Roles()
	dbA, dbB := openApp(t, dsn[a]), openApp(t, dsn[b])

	// A writer inserts as fast as it can into whichever server accepts, as an app retrying
	// against the current writer would; every acknowledged id must survive.
	stop := make(chan struct{})
	acked := make(chan int, 10000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id := 1; ; id++ {
			select {
			case <-stop:
				return
			default:
			}
			for {
				_, err := dbA.Exec("INSERT INTO items VALUES (?, 'load')", id)
				if err == nil {
					break
				}
				if _, err = dbB.Exec("INSERT INTO items VALUES (?, 'load')", id); err == nil {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			acked <- id
		}
	}()
	time.Sleep(300 * time.Millisecond)
	sw, err := p.Switchover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	<-done
	close(acked)
	var want []int
	for id := range acked {
		want = append(want, id)
	}
	sort.Ints(want)

	if sw.NewWriter != b || sw.OldWriter != a {
		t.Errorf("switchover new writer %s, old %s; want region-b, region-a", sw.NewWriter.Name, sw.OldWriter.Name)
	}
	if w, r := p.Roles(); w != b || r != a {
		t.Errorf("roles after switchover: writer %s, replica %s", w.Name, r.Name)
	}
	if len(want) < 10 {
		t.Fatalf("only %d writes acknowledged: the load did not run", len(want))
	}
	waitRows(t, b, want)
	waitRows(t, a, want) // the old writer follows the new one
	if _, err := dbA.Exec("INSERT INTO items VALUES (-1, 'x')"); !isReadOnlyRefusal(err) {
		t.Errorf("write to the old writer: err = %v, want MySQL error 1290", err)
	}
	waitReplicating(t, p, a)
	lag, err := p.ReplicationLag(context.Background())
	if err != nil || lag.Transactions != 0 {
		t.Errorf("lag after switchover = %+v, %v; want 0 transactions", lag, err)
	}
}

func TestSwitchoverGivesUpWhenReplicaCannotCatchUp(t *testing.T) {
	p, dsn := startPair(t)
	a, b := p.Roles()
	ctx := context.Background()
	if err := b.Exec(ctx, "STOP SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	if _, err := openApp(t, dsn[a]).Exec("INSERT INTO items VALUES (1, 'unreplicated')"); err != nil {
		t.Fatal(err)
	}
	p.opts.CatchUpTimeout = time.Second
	_, err := p.Switchover(ctx)
	if !errors.Is(err, ErrNotCaughtUp) {
		t.Fatalf("Switchover error = %v, want ErrNotCaughtUp", err)
	}
	if w, _ := p.Roles(); w != a {
		t.Errorf("writer after a failed switchover = %s, want region-a", w.Name)
	}
	if _, err := openApp(t, dsn[a]).Exec("INSERT INTO items VALUES (2, 'still writer')"); err != nil {
		t.Errorf("region-a refuses writes after a failed switchover (it must be unfenced): %v", err)
	}
}

func TestFailoverAfterKillReportsGapAndRejoinResynchronises(t *testing.T) {
	p, dsn := startPair(t)
	a, b := p.Roles()
	ctx := context.Background()
	dbA := openApp(t, dsn[a])
	for id := 1; id <= 3; id++ {
		if _, err := dbA.Exec("INSERT INTO items VALUES (?, 'replicated')", id); err != nil {
			t.Fatal(err)
		}
	}
	waitRows(t, b, []int{1, 2, 3})
	// Cut replication, then commit on A what B will never receive: the loss to measure.
	if err := b.Exec(ctx, "STOP SLAVE IO_THREAD"); err != nil {
		t.Fatal(err)
	}
	for id := 4; id <= 6; id++ {
		if _, err := dbA.Exec("INSERT INTO items VALUES (?, 'lost')", id); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Kill(); err != nil {
		t.Fatal(err)
	}

	fo, err := p.Failover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fo.OldWriterFenced || fo.GapKnown {
		t.Errorf("failover with a dead writer: fenced=%v gapKnown=%v, want false, false", fo.OldWriterFenced, fo.GapKnown)
	}
	if fo.NewWriter != b {
		t.Errorf("new writer = %s, want region-b", fo.NewWriter.Name)
	}
	if _, err := openApp(t, dsn[b]).Exec("INSERT INTO items VALUES (7, 'after failover')"); err != nil {
		t.Fatalf("write to the promoted replica: %v", err)
	}

	if _, err := p.Rejoin(ctx); err == nil || !strings.Contains(err.Error(), "restart it first") {
		t.Errorf("Rejoin with the old writer down: err = %v, want 'restart it first'", err)
	}
	if err := a.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	gap, err := p.Divergence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gap != 3 {
		t.Errorf("Divergence = %d, want 3 (rows 4-6 never reached region-b)", gap)
	}
	rj, err := p.Rejoin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rj.Rebuilt || rj.Discarded != 3 {
		t.Errorf("Rejoin = %+v, want rebuilt with 3 discarded", rj)
	}
	waitRows(t, a, []int{1, 2, 3, 7})
	waitReplicating(t, p, a)

	// Failback straight away, before region-a has replicated anything since the copy: region-b
	// must still find its own last transaction in region-a's binlog to follow it.
	if _, err := p.Switchover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := openApp(t, dsn[a]).Exec("INSERT INTO items VALUES (9, 'failed back')"); err != nil {
		t.Fatalf("write to region-a after failback: %v", err)
	}
	waitRows(t, b, []int{1, 2, 3, 7, 9})
	waitReplicating(t, p, b)
}

func TestFailoverFencesReachableWriterAndCountsGap(t *testing.T) {
	p, dsn := startPair(t)
	a, b := p.Roles()
	ctx := context.Background()
	if err := b.Exec(ctx, "STOP SLAVE IO_THREAD"); err != nil {
		t.Fatal(err)
	}
	dbA := openApp(t, dsn[a])
	for id := 1; id <= 2; id++ {
		if _, err := dbA.Exec("INSERT INTO items VALUES (?, 'lost')", id); err != nil {
			t.Fatal(err)
		}
	}
	fo, err := p.Failover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !fo.OldWriterFenced || !fo.GapKnown || fo.Gap != 2 {
		t.Errorf("Failover = fenced %v, gapKnown %v, gap %d; want true, true, 2", fo.OldWriterFenced, fo.GapKnown, fo.Gap)
	}
	if _, err := dbA.Exec("INSERT INTO items VALUES (3, 'x')"); !isReadOnlyRefusal(err) {
		t.Errorf("write to the fenced old writer: err = %v, want MySQL error 1290", err)
	}
	rj, err := p.Rejoin(ctx)
	if err != nil || rj.Discarded != 2 {
		t.Fatalf("Rejoin = %+v, %v; want 2 discarded", rj, err)
	}
	waitRows(t, a, nil)
}

// BenchmarkSwitchover measures one planned role swap of an idle pair: fence, catch-up, promote
// and re-point, back and forth.
func BenchmarkSwitchover(b *testing.B) {
	a := mariadbtest.Start(b, mariadb.Options{Name: "region-a", ServerID: 1})
	r := mariadbtest.Start(b, mariadb.Options{Name: "region-b", ServerID: 2})
	p, err := Setup(context.Background(), a, r, Options{User: "repl", Password: "pw"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	for b.Loop() {
		if _, err := p.Switchover(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestStatementKindHidesThePassword(t *testing.T) {
	tests := []struct{ in, want string }{
		{"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PASSWORD='s3cret'", "CHANGE MASTER"},
		{"COMMIT", "COMMIT"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := statementKind(tc.in); got != tc.want {
			t.Errorf("statementKind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
