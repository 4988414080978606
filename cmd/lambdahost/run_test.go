package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
)

// syncBuffer is a bytes.Buffer safe for the command's logging goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// command runs one lambdahost command in the background until it has printed its "ready" line.
type command struct {
	printed []string
	stderr  *syncBuffer
	code    chan int
	stop    context.CancelFunc // the interrupt
}

func startCommand(t *testing.T, ready string, args ...string) *command {
	t.Helper()
	ctx, interrupt := context.WithCancel(context.Background())
	t.Cleanup(interrupt)
	outR, outW := io.Pipe()
	c := &command{stderr: &syncBuffer{}, code: make(chan int, 1), stop: interrupt}
	go func() {
		c.code <- run(ctx, args, outW, c.stderr)
		outW.Close()
	}()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("%s ended before it was ready (exit %d); stdout:\n%s\nstderr:\n%s", args[0], <-c.code, strings.Join(c.printed, "\n"), c.stderr.String())
			}
			c.printed = append(c.printed, line)
			if strings.Contains(line, ready) {
				go func() {
					for range lines {
					}
				}()
				return c
			}
		case <-timeout:
			t.Fatalf("%s was not ready after 2 minutes; stdout:\n%s", args[0], strings.Join(c.printed, "\n"))
		}
	}
}

// find returns the first submatch of re in the printed lines.
func (c *command) find(re string) string {
	for _, l := range c.printed {
		if m := regexp.MustCompile(re).FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	return ""
}

// interrupt stops the command as Ctrl-C does and returns its exit status.
func (c *command) interrupt(t *testing.T) int {
	t.Helper()
	c.stop()
	select {
	case code := <-c.code:
		return code
	case <-time.After(time.Minute):
		t.Fatal("the command did not stop within a minute of the interrupt")
		return -1
	}
}

func TestServeRunsTemplateFunctions(t *testing.T) {
	dir := t.TempDir()
	for _, fn := range []string{"api", "job"} {
		if err := os.MkdirAll(filepath.Join(dir, fn), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(binDir, "api", "bootstrap"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fn, "bootstrap"), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := startCommand(t, "Ctrl-C", "serve", "-template", template, "-bin", dir, "-addr", "127.0.0.1:0")
	apiURL := c.find(`^HTTP API\s+(http://\S+)`)
	if !strings.Contains(strings.Join(c.printed, "\n"), "GET     /things/{id}     -> api") {
		t.Errorf("serve's summary lacks the template's routes:\n%s", strings.Join(c.printed, "\n"))
	}
	resp, err := http.Get(apiURL + "/things/7")
	if err != nil {
		t.Fatal(err)
	}
	var reply struct{ PID int }
	json.NewDecoder(resp.Body).Decode(&reply)
	resp.Body.Close()
	if resp.StatusCode != 200 || reply.PID == 0 {
		t.Errorf("GET /things/7: status %d, reply %+v; want 200 from the api function", resp.StatusCode, reply)
	}
	if code := c.interrupt(t); code != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", code, c.stderr.String())
	}
	if err := syscall.Kill(reply.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("function process %d is still there after serve stopped", reply.PID)
	}
}

// TestRunServesTheToDoAPIAndCleansUp is `make run` end to end: MariaDB, migrations through the
// real migrate function, the real todo-api on the HTTP API, and nothing left after the interrupt.
func TestRunServesTheToDoAPIAndCleansUp(t *testing.T) {
	mariadbtest.Require(t)
	dir := t.TempDir()
	for _, fn := range []string{"todo-api", "migrate"} {
		if _, err := devtools.BuildFunction(context.Background(), fn, dir); err != nil {
			t.Fatal(err)
		}
	}
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	c := startCommand(t, "Try: ", "run", "-template", filepath.Join(root, "template.yaml"), "-bin", dir, "-addr", "127.0.0.1:0")
	apiURL := c.find(`^HTTP API\s+(http://127\.0\.0\.1:\d+)`)
	dbPID, _ := strconv.Atoi(c.find(`^MariaDB .*\(pid (\d+)`))
	printed := c.printed
	if apiURL == "" || dbPID == 0 {
		t.Fatalf("run did not print the HTTP API address and MariaDB's pid; stdout:\n%s", strings.Join(printed, "\n"))
	}
	if out := strings.Join(printed, "\n"); !strings.Contains(out, "migrations   applied:") || !strings.Contains(out, "GET     /todos/{id}      -> todo-api") {
		t.Errorf("run's summary lacks the migrations or the routes:\n%s", out)
	}
	if c.find(`^RDS Proxy\s+read/write (127\.0\.0\.1:\d+)`) == "" {
		t.Errorf("run did not print the local RDS Proxy's endpoints:\n%s", strings.Join(printed, "\n"))
	}

	resp, err := http.Post(apiURL+"/todos", "application/json", strings.NewReader(`{"task":"from make run"}`))
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID, Task string }
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || created.Task != "from make run" {
		t.Fatalf("POST /todos: status %d, %+v; want 201 with the todo", resp.StatusCode, created)
	}

	if code := c.interrupt(t); code != 0 {
		t.Errorf("exit status after the interrupt = %d, want 0; stderr:\n%s", code, c.stderr.String())
	}
	pids := []int{dbPID}
	for _, m := range regexp.MustCompile(`"msg":"process start".*?"pid":(\d+)`).FindAllStringSubmatch(c.stderr.String(), -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	if len(pids) < 3 {
		t.Errorf("found pids %v for MariaDB, migrate and todo-api; want all three", pids)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d is still there after run stopped (kill -0: %v)", pid, err)
		}
	}
	if regexp.MustCompile(`todo_app:[0-9a-f]{24}@`).MatchString(c.stderr.String() + strings.Join(printed, "\n")) {
		t.Error("run printed the database password")
	}
}
