package netns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Supported reports whether this process can make kernel links: it runs as root on Linux with
// iproute2's ip on PATH.
func Supported() bool {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		return false
	}
	_, err := exec.LookPath("ip")
	return err == nil
}

// namePrefix starts every namespace this package creates: switchyard-<pid>-<slot>.
const namePrefix = "switchyard-"

// netnsDir is where `ip netns add` mounts named namespaces.
const netnsDir = "/var/run/netns"

// slots is how many links one process may hold at once: a /30 each in its /24 block.
const slots = 64

// commandTimeout bounds each ip command; they answer in milliseconds.
const commandTimeout = 10 * time.Second

// alloc hands out this process's address block and link slots.
var alloc struct {
	mu    sync.Mutex
	block [2]byte // 10.<block[0]>.<block[1]>.0/24
	ready bool
	used  [slots]bool
}

// Link is one cuttable link: clients in the root namespace connect to Addr, which is the far end
// of a veth pair inside the link's own namespace, where a forwarder carries each connection to the
// target (an address in the root namespace).
type Link struct {
	Name   string
	target string
	ns     string
	hostIf string
	nsIf   string
	slot   int
	ln     net.Listener

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// New creates the link's namespace and veth pair and starts its forwarder towards target
// (host:port in the root namespace). The error names the ip command that failed.
func New(name, target string) (l *Link, err error) {
	if !Supported() {
		return nil, errors.New("netns: kernel links need root on Linux and iproute2's ip on PATH")
	}
	slot, block, err := takeSlot()
	if err != nil {
		return nil, err
	}
	pid := os.Getpid()
	l = &Link{Name: name, target: target, slot: slot, conns: map[net.Conn]bool{},
		ns:     fmt.Sprintf("%s%d-%d", namePrefix, pid, slot),
		hostIf: fmt.Sprintf("sy%dh%d", pid, slot), nsIf: fmt.Sprintf("sy%dn%d", pid, slot)}
	defer func() {
		if err != nil {
			l.Close() //nolint:errcheck // the creation error is the one to report
			l = nil
		}
	}()
	base := 4 * slot
	hostIP := fmt.Sprintf("10.%d.%d.%d", block[0], block[1], base+1)
	nsIP := fmt.Sprintf("10.%d.%d.%d", block[0], block[1], base+2)
	steps := [][]string{
		{"netns", "add", l.ns},
		{"link", "add", l.hostIf, "type", "veth", "peer", "name", l.nsIf, "netns", l.ns},
		{"addr", "add", hostIP + "/30", "dev", l.hostIf},
		{"link", "set", l.hostIf, "up"},
		{"-n", l.ns, "addr", "add", nsIP + "/30", "dev", l.nsIf},
		{"-n", l.ns, "link", "set", l.nsIf, "up"},
		{"-n", l.ns, "link", "set", "lo", "up"},
	}
	for _, args := range steps {
		if _, err := ip(args...); err != nil {
			return l, fmt.Errorf("link %s: %w", name, err)
		}
	}
	// The neighbour entry is pinned, so that a cut is a silent blackhole for the kernel too: with
	// ARP it would fail fast with "no route to host" instead of timing out.
	mac, err := nsMAC(l.ns, l.nsIf)
	if err != nil {
		return l, fmt.Errorf("link %s: %w", name, err)
	}
	if _, err := ip("neigh", "replace", nsIP, "lladdr", mac, "dev", l.hostIf, "nud", "permanent"); err != nil {
		return l, fmt.Errorf("link %s: %w", name, err)
	}
	if l.ln, err = listenIn(l.ns, net.JoinHostPort(nsIP, "0")); err != nil {
		return l, fmt.Errorf("link %s: %w", name, err)
	}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

// Addr is the link's address as host:port, reachable from the root namespace.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// URL is the link's address as an http:// base URL.
func (l *Link) URL() string { return "http://" + l.Addr() }

// Namespace is the link's network namespace, as `ip netns list` shows it.
func (l *Link) Namespace() string { return l.ns }

// Interfaces are the veth pair's names: the root namespace's end and the link namespace's end.
func (l *Link) Interfaces() (host, inside string) { return l.hostIf, l.nsIf }

// SetCut takes the namespace's end of the veth down (true) or up again. Connections open across
// the cut are left to TCP: they carry on when the link is restored before their peers give up.
func (l *Link) SetCut(cut bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("link %s: closed", l.Name)
	}
	state := "up"
	if cut {
		state = "down"
	}
	if _, err := ip("-n", l.ns, "link", "set", l.nsIf, state); err != nil {
		return fmt.Errorf("link %s: %w", l.Name, err)
	}
	return nil
}

// Close stops the forwarder, ends every connection through it and deletes the namespace, which
// takes the veth pair with it.
func (l *Link) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	if l.ln != nil {
		l.ln.Close()
	}
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	var errs []error
	if _, err := os.Stat(filepath.Join(netnsDir, l.ns)); err == nil {
		if _, err := ip("netns", "delete", l.ns); err != nil {
			errs = append(errs, fmt.Errorf("link %s: %w", l.Name, err))
		}
	}
	// A pair created before its namespace's deletion goes with it; one left behind by a failed
	// creation is removed here.
	if _, err := net.InterfaceByName(l.hostIf); err == nil {
		if _, err := ip("link", "delete", l.hostIf); err != nil {
			errs = append(errs, fmt.Errorf("link %s: %w", l.Name, err))
		}
	}
	releaseSlot(l.slot)
	return errors.Join(errs...)
}

func (l *Link) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		if !l.track(c) {
			c.Close()
			return
		}
		l.wg.Add(1)
		go l.carry(c)
	}
}

// track records c so that Close ends it; false once the link is closed.
func (l *Link) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = true
	return true
}

func (l *Link) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	c.Close()
}

// carry dials the target from an ordinary goroutine, so from the root namespace, and copies both
// ways until either side ends.
func (l *Link) carry(c net.Conn) {
	defer l.wg.Done()
	defer l.untrack(c)
	up, err := net.DialTimeout("tcp", l.target, commandTimeout)
	if err != nil {
		return
	}
	if !l.track(up) {
		up.Close()
		return
	}
	defer l.untrack(up)
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }() //nolint:errcheck // a closed side ends the copy
	go func() { io.Copy(c, up); done <- struct{}{} }() //nolint:errcheck
	<-done
}

// listenIn listens on addr inside the named namespace. The socket keeps the namespace it was
// created in, so only this one thread has to enter it, and leave it again before it serves
// other goroutines.
func listenIn(ns, addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("open this thread's network namespace: %w", err)}
			return
		}
		defer home.Close()
		target, err := os.Open(filepath.Join(netnsDir, ns))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("open namespace %s: %w", ns, err)}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("enter namespace %s: %w", ns, err)}
			return
		}
		ln, lerr := net.Listen("tcp", addr)
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
			// The thread stays locked: it ends with this goroutine instead of running others
			// inside the link's namespace.
			if ln != nil {
				ln.Close()
			}
			ch <- result{err: fmt.Errorf("leave namespace %s: %w", ns, err)}
			return
		}
		runtime.UnlockOSThread()
		if lerr != nil {
			lerr = fmt.Errorf("listen on %s in namespace %s: %w", addr, ns, lerr)
		}
		ch <- result{ln: ln, err: lerr}
	}()
	r := <-ch
	return r.ln, r.err
}

// nsMAC is the hardware address of dev inside ns.
func nsMAC(ns, dev string) (string, error) {
	out, err := ip("-j", "-n", ns, "link", "show", "dev", dev)
	if err != nil {
		return "", err
	}
	var links []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 || links[0].Address == "" {
		return "", fmt.Errorf("ip -j -n %s link show dev %s: no hardware address in %q", ns, dev, out)
	}
	return links[0].Address, nil
}

// ip runs one iproute2 command; its error quotes the command and what it printed.
func ip(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// takeSlot picks a free slot and, the first time, this process's /24 block: 10.200.0.0/13 holds
// 2048 of them, the first one tried chosen by the process ID, skipping any block an address of
// the root namespace already sits in (another process's links, say). It also removes the
// namespaces of drills that died without closing their links.
func takeSlot() (int, [2]byte, error) {
	alloc.mu.Lock()
	defer alloc.mu.Unlock()
	if !alloc.ready {
		sweepStale()
		inUse := map[[2]byte]bool{}
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					if v4 := n.IP.To4(); v4 != nil && v4[0] == 10 {
						inUse[[2]byte{v4[1], v4[2]}] = true
					}
				}
			}
		}
		found := false
		for i := range 2048 {
			n := (os.Getpid() + i) % 2048
			b := [2]byte{byte(200 + n/256), byte(n % 256)}
			if !inUse[b] {
				alloc.block, found = b, true
				break
			}
		}
		if !found {
			return 0, [2]byte{}, errors.New("netns: every /24 of 10.200.0.0/13 is in use")
		}
		alloc.ready = true
	}
	for i, u := range alloc.used {
		if !u {
			alloc.used[i] = true
			return i, alloc.block, nil
		}
	}
	return 0, [2]byte{}, fmt.Errorf("netns: this process already holds %d links", slots)
}

func releaseSlot(slot int) {
	alloc.mu.Lock()
	defer alloc.mu.Unlock()
	alloc.used[slot] = false
}

// sweepStale deletes the namespaces of processes that no longer run; their veth pairs go with them.
func sweepStale() {
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), namePrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			ip("netns", "delete", e.Name()) //nolint:errcheck // best effort: a leftover of a dead run
		}
	}
}
