package replication

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// GTID is one MariaDB global transaction id: domain-server-sequence.
type GTID struct {
	Domain, Server uint32
	Seq            uint64
}

func (g GTID) String() string { return fmt.Sprintf("%d-%d-%d", g.Domain, g.Server, g.Seq) }

// Position is a GTID position as MariaDB prints it (@@gtid_binlog_pos, @@gtid_slave_pos): the
// last transaction seen in each replication domain.
type Position map[uint32]GTID

// ParsePosition reads "0-1-42,1-3-7"; the empty string is the empty position.
func ParsePosition(s string) (Position, error) {
	p := Position{}
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Split(part, "-")
		if len(f) != 3 {
			return nil, fmt.Errorf("GTID position %q: %q is not domain-server-sequence", s, part)
		}
		d, err1 := strconv.ParseUint(f[0], 10, 32)
		srv, err2 := strconv.ParseUint(f[1], 10, 32)
		seq, err3 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("GTID position %q: %q is not domain-server-sequence", s, part)
		}
		p[uint32(d)] = GTID{Domain: uint32(d), Server: uint32(srv), Seq: seq}
	}
	return p, nil
}

func (p Position) String() string {
	domains := make([]uint32, 0, len(p))
	for d := range p {
		domains = append(domains, d)
	}
	sort.Slice(domains, func(i, j int) bool { return domains[i] < domains[j] })
	parts := make([]string, len(domains))
	for i, d := range domains {
		parts[i] = p[d].String()
	}
	return strings.Join(parts, ",")
}

// Behind counts the transactions in p that have not reached other. Sequence numbers grow by one
// per transaction within a domain under gtid_strict_mode with one writer at a time, which is how
// the pair is run, so the difference of sequence numbers is a count of transactions.
func (p Position) Behind(other Position) uint64 {
	var n uint64
	for d, g := range p {
		if o, ok := other[d]; !ok {
			n += g.Seq
		} else if g.Seq > o.Seq {
			n += g.Seq - o.Seq
		}
	}
	return n
}
