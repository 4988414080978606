package drill

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestTasksStopWithTheirContext: every goroutine the environment starts ends when Start's context
// does (a Ctrl-C) and Close waits for all of them.
func TestTasksStopWithTheirContext(t *testing.T) {
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

// TestWaitsEndWithTheirContext: the drill's polling waits return as soon as their context ends,
// not at their own deadline.
func TestWaitsEndWithTheirContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // accepts nothing: every /health probe hangs until its timeout
	e := &Env{edgeLn: ln}
	r := &Region{Name: "region-b", AWSRegion: "us-west-2"}
	waits := map[string]func(context.Context) error{
		"alarm execution": func(ctx context.Context) error { return e.awaitAlarmExecution(ctx, r, time.Now(), time.Hour) },
		"edge serving":    func(ctx context.Context) error { return e.waitServing(ctx, r, time.Hour) },
	}
	for name, wait := range waits {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			start := time.Now()
			err := wait(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
			if waited := time.Since(start); waited > 10*time.Second {
				t.Errorf("returned %v after the cancellation", waited)
			}
		})
	}
}
