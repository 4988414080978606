package netns

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// requireRoot skips where kernel links cannot be made, except in CI, where a missing root is a
// failure: CI must run these.
func requireRoot(t *testing.T) {
	t.Helper()
	if Supported() {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("kernel links need root and iproute2's ip; CI=true runs them, so they may not be skipped")
	}
	t.Skip("kernel links need root and iproute2's ip (CI=true makes this a failure)")
}

// slowServer answers /fast at once and /slow after d.
func slowServer(t *testing.T, d time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(d)
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if string(body) != "ok" {
		return fmt.Errorf("body %q, want ok", body)
	}
	return nil
}

// isTimeout is true for a timeout and false for a refusal or a reset: a cut link must look like a
// partitioned network, where nobody answers.
func isTimeout(err error) bool {
	var ne net.Error
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EHOSTUNREACH) {
		return false
	}
	return errors.As(err, &ne) && ne.Timeout()
}

func TestLinkCarriesCutsAndRestores(t *testing.T) {
	requireRoot(t)
	srv := slowServer(t, 400*time.Millisecond)
	l, err := New("test link", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if strings.HasPrefix(l.Addr(), "127.") {
		t.Fatalf("link address %s is on loopback: the traffic would not cross the veth", l.Addr())
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if err := get(client, l.URL()+"/fast"); err != nil {
		t.Fatalf("before the cut: %v", err)
	}

	// A request in flight when the link is cut never gets its answer.
	inFlight := make(chan error, 1)
	go func() {
		c := &http.Client{Timeout: 1500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
		inFlight <- get(c, l.URL()+"/slow")
	}()
	time.Sleep(100 * time.Millisecond)
	if err := l.SetCut(true); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	conn, err := net.DialTimeout("tcp", l.Addr(), 700*time.Millisecond)
	if err == nil {
		conn.Close()
		t.Fatal("connected across a cut link")
	}
	if !isTimeout(err) {
		t.Errorf("connect across the cut: %v; want a timeout, not a refusal", err)
	}
	if took := time.Since(start); took < 600*time.Millisecond {
		t.Errorf("connect failed after %v: a blackhole answers nothing, so only the caller's timeout ends it", took)
	}
	if err := <-inFlight; !isTimeout(err) {
		t.Errorf("request in flight across the cut: %v; want a timeout", err)
	}

	if err := l.SetCut(false); err != nil {
		t.Fatal(err)
	}
	if err := get(client, l.URL()+"/fast"); err != nil {
		t.Fatalf("after restoring: %v", err)
	}
}

func TestCloseLeavesNoNamespaceOrVeth(t *testing.T) {
	requireRoot(t)
	srv := slowServer(t, 0)
	var links []*Link
	for i := range 2 {
		l, err := New(fmt.Sprintf("link %d", i), strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, l)
	}
	if err := links[1].SetCut(true); err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if !strings.Contains(run(t, "ip", "netns", "list"), l.Namespace()) {
			t.Fatalf("namespace %s missing while the link is open", l.Namespace())
		}
		if err := l.Close(); err != nil {
			t.Errorf("Close %s: %v", l.Name, err)
		}
	}
	namespaces, interfaces := run(t, "ip", "netns", "list"), run(t, "ip", "link", "show")
	for _, l := range links {
		host, inside := l.Interfaces()
		if strings.Contains(namespaces, l.Namespace()) {
			t.Errorf("namespace %s left after Close:\n%s", l.Namespace(), namespaces)
		}
		if strings.Contains(interfaces, host+"@") || strings.Contains(interfaces, host+":") || strings.Contains(interfaces, inside) {
			t.Errorf("veth %s/%s left after Close:\n%s", host, inside, interfaces)
		}
	}
}

func TestFailingCommandIsNamed(t *testing.T) {
	requireRoot(t)
	_, err := ip("-n", "switchyard-no-such-namespace", "link", "set", "lo", "up")
	if err == nil || !strings.Contains(err.Error(), "ip -n switchyard-no-such-namespace link set lo up") {
		t.Errorf("got %v, want an error quoting the ip command", err)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
	return string(out)
}
