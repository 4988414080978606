package todo

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// IDs are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter that keeps IDs made
// in the same millisecond in order, then 62 random bits. Ordering by ID is ordering by creation, which
// keyset pagination relies on; the random bits keep IDs made in two regions apart, so an ID is never
// reused after an unplanned failover loses the last writes of the old writer.

// IDGenerator makes UUIDv7 strings, monotonic within one process even when the clock steps back.
type IDGenerator struct {
	mu     sync.Mutex
	lastMS int64
	seq    uint16
}

// New returns a new ID for the time now.
func (g *IDGenerator) New(now time.Time) string {
	var b [16]byte
	// Since Go 1.24 crypto/rand.Read never returns an error: it crashes the program instead.
	_, _ = rand.Read(b[6:])
	ms := now.UnixMilli()
	g.mu.Lock()
	if ms <= g.lastMS {
		ms = g.lastMS
		g.seq++
		if g.seq > 0x0fff { // counter exhausted: borrow the next millisecond
			ms++
			g.seq = uint16(b[6]&0x01) << 8
		}
	} else {
		// A random start (one bit of headroom kept) makes the counter harder to guess.
		g.seq = uint16(b[6]&0x07)<<8 | uint16(b[7])
	}
	g.lastMS = ms
	seq := g.seq
	g.mu.Unlock()

	b[0], b[1], b[2] = byte(ms>>40), byte(ms>>32), byte(ms>>24)
	b[3], b[4], b[5] = byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = 0x70 | byte(seq>>8)
	b[7] = byte(seq)
	b[8] = 0x80 | b[8]&0x3f
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// ParseID checks that s is a UUID in canonical lower-case form and returns its 16 bytes.
func ParseID(s string) ([16]byte, error) {
	var b [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, Invalid("id", "id must be a UUID such as 01890a5d-ac96-774b-bcce-b302099a8057")
	}
	for j, i := range [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34} {
		hi, ok1 := fromHexLower(s[i])
		lo, ok2 := fromHexLower(s[i+1])
		if !ok1 || !ok2 {
			return b, Invalid("id", "id must be a lower-case UUID such as 01890a5d-ac96-774b-bcce-b302099a8057")
		}
		b[j] = hi<<4 | lo
	}
	return b, nil
}

func fromHexLower(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
