package lease

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// The scheduled event reaches the handler through the Lambda runtime's own decoding, and one
// invocation keeps renewing until RunFor, then says what it did.
func TestInvocationRenewsUntilRunFor(t *testing.T) {
	ev, err := os.ReadFile(filepath.Join("..", "..", "events", "lease-renewer", "scheduled.json"))
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld()
	w.now = time.Now()
	db := &fakeDB{writable: true, now: time.Now}
	q := w.quorum()
	q.Now = nil
	q.Timings = Timings{RenewInterval: 20 * time.Millisecond, TTL: 500 * time.Millisecond, CallTimeout: 50 * time.Millisecond, Margin: 100 * time.Millisecond}
	h := &Invocation{Renewer: &Renewer{Region: "region-a", Quorum: q, DB: db}, RunFor: 150 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{`"taken":1`, `"renewed":`, `"holder":"region-a"`, `"epoch":1`} {
		if !strings.Contains(s, want) {
			t.Errorf("summary %s lacks %s", s, want)
		}
	}
	if !db.fencedUntil.After(time.Now()) {
		t.Errorf("the fence is not open after the invocation: until %s", db.fencedUntil)
	}
}
