package todo_test

import (
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/todo"
)

// Within one millisecond the 12-bit counter runs up to 0xfff, every value used once; only then does
// the generator borrow the next millisecond, where the counter starts again low.
func TestCounterIsUsedUpBeforeBorrowingAMillisecond(t *testing.T) {
	var g todo.IDGenerator
	now := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	fields := func(id string) (ms int64, seq int) {
		b, err := todo.ParseID(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range b[:6] {
			ms = ms<<8 | int64(x)
		}
		return ms, int(b[6]&0x0f)<<8 | int(b[7])
	}
	ms0, prev := fields(g.New(now))
	if prev > 0x7ff {
		t.Fatalf("first counter %#x, want a start at or below 0x7ff (headroom kept)", prev)
	}
	for i := 0; ; i++ {
		if i > 0x1000 {
			t.Fatal("the counter never ran out")
		}
		ms, seq := fields(g.New(now))
		if ms == ms0 {
			if seq != prev+1 {
				t.Fatalf("counter went %#x -> %#x in the same millisecond, want +1", prev, seq)
			}
			prev = seq
			continue
		}
		if prev != 0xfff {
			t.Fatalf("borrowed the next millisecond after counter %#x, want after 0xfff", prev)
		}
		if ms != ms0+1 || seq > 0x1ff {
			t.Fatalf("after exhaustion: ms +%d, counter %#x; want ms +1 and a counter at or below 0x1ff", ms-ms0, seq)
		}
		return
	}
}
