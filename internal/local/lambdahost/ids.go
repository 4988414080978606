package lambdahost

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// newRequestID returns a random version-4 UUID, the form of Lambda's request ids.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newTraceID returns an X-Ray trace header that is not sampled, so instrumented functions send
// no segments from a local run.
func newTraceID() string {
	return "Root=1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-" + randomHex(12) +
		";Parent=" + randomHex(8) + ";Sampled=0"
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
