// Package signaldns stands in for the part of Route 53's data plane the edge reads: health checkers
// that probe each region's /health as Route 53's do (status 2xx or 3xx, an optional search string in
// the first 5120 bytes of the body, a failure threshold of consecutive results in either direction),
// and a DNS server on 127.0.0.1 that answers a multivalue TXT record set with the strings whose health
// checks pass, or with every string when none passes, as Route 53 answers multivalue records. Nothing
// here is called to move traffic: like Route 53's, its answers change only because health changes.
// It is never deployed.
package signaldns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Check is a health check on one endpoint.
type Check struct {
	URL string
	// SearchString, when set, makes it an HTTP_STR_MATCH check: healthy only when the first 5120
	// bytes of the body contain it.
	SearchString string
}

// Record is one string of the multivalue TXT record set; a record without a check is always healthy.
type Record struct {
	Value string
	Check *Check
}

// Options configure a Server. Route 53's health checkers probe every 10 or 30 seconds with a failure
// threshold of 1 to 10; the drill scales the interval down like every other AWS delay it models.
type Options struct {
	// Name is the record's name, e.g. "_switchyard-signal.drill.test".
	Name    string
	Records []Record
	// Interval is 100 ms when zero; FailureThreshold 2; Timeout (per probe) 1 s; TTL 5 s.
	Interval         time.Duration
	FailureThreshold int
	Timeout          time.Duration
	TTL              time.Duration
	// OnChange, when set, hears every change of the answer, for the drill's timeline.
	OnChange func(at time.Time, answer []string)
}

// Server answers the signal record over UDP on 127.0.0.1.
type Server struct {
	opts   Options
	conn   net.PacketConn
	client *http.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	healthy []bool // per record
	streak  []int  // consecutive results against the current status
	down    bool
	last    []string
}

// Start probes every check once, so the first answer already reflects health, then serves.
func Start(opts Options) (*Server, error) {
	if opts.Name == "" || len(opts.Records) == 0 {
		return nil, errors.New("signaldns: a record name and at least one record are needed")
	}
	if opts.Interval == 0 {
		opts.Interval = 100 * time.Millisecond
	}
	if opts.FailureThreshold == 0 {
		opts.FailureThreshold = 2
	}
	if opts.Timeout == 0 {
		opts.Timeout = time.Second
	}
	if opts.TTL == 0 {
		opts.TTL = 5 * time.Second
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("signaldns: listen on 127.0.0.1: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{opts: opts, conn: conn, cancel: cancel, client: &http.Client{Timeout: opts.Timeout},
		healthy: make([]bool, len(opts.Records)), streak: make([]int, len(opts.Records))}
	for i, r := range opts.Records {
		s.healthy[i] = r.Check == nil || s.probe(ctx, r.Check)
	}
	s.last = s.Answer()
	s.wg.Add(2)
	go s.serve()
	go s.checkLoop(ctx)
	return s, nil
}

// Addr is the server's host:port, for a resolver.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// SetDown makes the server drop every query, as a resolver that cannot reach Route 53 sees it.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Answer is what a query gets now: the healthy strings, or all of them when none is healthy.
func (s *Server) Answer() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var healthy, all []string
	for i, r := range s.opts.Records {
		all = append(all, r.Value)
		if s.healthy[i] {
			healthy = append(healthy, r.Value)
		}
	}
	if len(healthy) == 0 {
		return all
	}
	return healthy
}

// Lookup resolves name's TXT strings through this server with Go's own resolver, as the native edge
// handler does with the system's.
func (s *Server) Lookup(ctx context.Context, name string) ([]string, error) {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.Addr())
	}}
	return r.LookupTXT(ctx, name)
}

// Close stops the checks and the server.
func (s *Server) Close() error {
	s.cancel()
	err := s.conn.Close()
	s.wg.Wait()
	return err
}

func (s *Server) checkLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for i, r := range s.opts.Records {
			if r.Check == nil {
				continue
			}
			ok := s.probe(ctx, r.Check)
			s.mu.Lock()
			if ok == s.healthy[i] {
				s.streak[i] = 0
			} else if s.streak[i]++; s.streak[i] >= s.opts.FailureThreshold {
				s.healthy[i], s.streak[i] = ok, 0
			}
			s.mu.Unlock()
		}
		if answer := s.Answer(); strings.Join(answer, "\n") != strings.Join(s.last, "\n") {
			s.last = answer
			if s.opts.OnChange != nil {
				s.opts.OnChange(time.Now(), answer)
			}
		}
	}
}

func (s *Server) probe(ctx context.Context, c *Check) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return false
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 5120))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return false
	}
	return c.SearchString == "" || strings.Contains(string(body), c.SearchString)
}

func (s *Server) serve() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, addr, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		s.mu.Lock()
		down := s.down
		s.mu.Unlock()
		if down {
			continue
		}
		if resp := s.respond(buf[:n]); resp != nil {
			_, _ = s.conn.WriteTo(resp, addr)
		}
	}
}

const (
	typeTXT   = 16
	classIN   = 1
	rcodeOK   = 0
	rcodeFail = 1 // FORMERR
	rcodeNX   = 3
)

// respond answers one query: TXT strings for the record's name, NXDOMAIN for any other name,
// nothing for what is not a query.
func (s *Server) respond(q []byte) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 {
		return nil
	}
	qdcount := int(q[4])<<8 | int(q[5])
	name, end, ok := readName(q, 12)
	if qdcount != 1 || !ok || end+4 > len(q) {
		return header(q, rcodeFail, 0)
	}
	qtype := int(q[end])<<8 | int(q[end+1])
	question := q[12 : end+4]
	if !strings.EqualFold(strings.TrimSuffix(name, "."), strings.TrimSuffix(s.opts.Name, ".")) {
		return append(header(q, rcodeNX, 0), question...)
	}
	var answers []string
	if qtype == typeTXT {
		answers = s.Answer()
	}
	out := append(header(q, rcodeOK, len(answers)), question...)
	ttl := uint32(s.opts.TTL / time.Second)
	for _, a := range answers {
		var rdata []byte
		for len(a) > 255 {
			rdata = append(append(rdata, 255), a[:255]...)
			a = a[255:]
		}
		rdata = append(append(rdata, byte(len(a))), a...)
		out = append(out, 0xC0, 12, 0, typeTXT, 0, classIN,
			byte(ttl>>24), byte(ttl>>16), byte(ttl>>8), byte(ttl), byte(len(rdata)>>8), byte(len(rdata)))
		out = append(out, rdata...)
	}
	return out
}

// header is a response header for query q: same ID and RD bit, authoritative, one question.
func header(q []byte, rcode, answers int) []byte {
	return []byte{q[0], q[1], 0x84 | q[2]&0x01, byte(rcode), 0, 1, byte(answers >> 8), byte(answers), 0, 0, 0, 0}
}

// readName reads an uncompressed name at off (queries never compress).
func readName(b []byte, off int) (string, int, bool) {
	var labels []string
	for off < len(b) {
		n := int(b[off])
		off++
		switch {
		case n == 0:
			return strings.Join(labels, ".") + ".", off, true
		case n > 63 || off+n > len(b):
			return "", 0, false
		}
		labels = append(labels, string(b[off:off+n]))
		off += n
	}
	return "", 0, false
}
