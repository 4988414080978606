package drill

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestTasksStopWithTheirContext: every goroutine the environment starts ends when Start's context
// does (a Ctrl-C) and Close waits for all of them.
func TestTasksStopWithTheirContext(t *testing.T) {
	before := runtime.NumGoroutine()
	parent, interrupt := context.WithCancel(context.Background())
	e := &Env{}
	e.background, e.stopTasks = context.WithCancel(parent)
	ended := make(chan struct{}, 3)
	for range 3 {
		e.goTask(func(ctx context.Context) {
			<-ctx.Done()
			ended <- struct{}{}
		})
	}
	interrupt()
	for range 3 {
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Fatal("a task did not end after its context was cancelled")
		}
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after Close, want none left", before, after)
	}
}

func TestCloseWaitsForTasks(t *testing.T) {
	e := &Env{}
	e.background, e.stopTasks = context.WithCancel(context.Background())
	var finished bool
	e.goTask(func(ctx context.Context) {
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // a task's own cleanup after cancellation
		finished = true
	})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if !finished {
		t.Error("Close returned before its task finished")
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("a cancelled sleep waited %v", waited)
	}
	if err := sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("got %v, want nil after the full wait", err)
	}
}
