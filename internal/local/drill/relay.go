package drill

import (
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/switchyard-dr/switchyard/internal/local/netns"
)

// link is one network link of the drill that a scenario can cut: a kernel link in a network
// namespace when the drill runs as root, a Relay otherwise. Either way a cut is a blackhole.
type link interface {
	URL() string
	SetCut(cut bool) error
	Close() error
}

var (
	_ link = (*Relay)(nil)
	_ link = (*netns.Link)(nil)
)

// Link kinds, as the reports name them.
const (
	kernelLinks = "network namespaces: each link's veth end taken down in its namespace"
	relayLinks  = "blackholed relays on 127.0.0.1"
)

// linkKind is the kind of link newLink makes on this machine.
func linkKind() string {
	if netns.Supported() {
		return kernelLinks
	}
	return relayLinks
}

// newLink makes a cuttable link to target: the kernel cuts it when the drill may make network
// namespaces (root), a relay in the drill's own process otherwise.
func newLink(name, target string) (link, error) {
	if netns.Supported() {
		return netns.New(name, target)
	}
	return NewRelay(name, target)
}

// Relay is one network link of the drill (a region to another region's lease table, say): a TCP
// relay on 127.0.0.1 that a scenario can cut. A cut link is a blackhole, as a partition is:
// established connections are dropped and new ones are accepted but never carried, so callers
// time out rather than being told no.
type Relay struct {
	Name   string
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
	held  []net.Conn
	wg    sync.WaitGroup
}

// NewRelay listens on a free port of 127.0.0.1 and carries every connection to target.
func NewRelay(name, target string) (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("relay %s: listen on 127.0.0.1: %w", name, err)
	}
	r := &Relay{Name: name, ln: ln, target: target, conns: map[net.Conn]bool{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// URL is the relay's address as an http:// base URL.
func (r *Relay) URL() string { return "http://" + r.ln.Addr().String() }

// SetCut cuts the link (true) or restores it.
func (r *Relay) SetCut(cut bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = cut
	if cut {
		for c := range r.conns {
			c.Close()
		}
		return nil
	}
	for _, c := range r.held {
		c.Close()
	}
	r.held = nil
	return nil
}

// Close stops the relay and every connection through it.
func (r *Relay) Close() error {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	for _, c := range r.held {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}

func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.cut {
			r.held = append(r.held, c) // never answered: the caller's own timeout ends it
			r.mu.Unlock()
			continue
		}
		r.conns[c] = true
		r.mu.Unlock()
		r.wg.Add(1)
		go r.carry(c)
	}
}

func (r *Relay) carry(c net.Conn) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		delete(r.conns, c)
		r.mu.Unlock()
		c.Close()
	}()
	up, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	r.mu.Lock()
	r.conns[up] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.conns, up)
		r.mu.Unlock()
		up.Close()
	}()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }() //nolint:errcheck // a closed side ends the copy
	go func() { io.Copy(c, up); done <- struct{}{} }() //nolint:errcheck
	<-done
}
