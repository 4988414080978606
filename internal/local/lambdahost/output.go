package lambdahost

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// lineSink interleaves the output of many processes into one writer a whole line at a time, each
// line labelled with the process it came from, as a log console groups a function's streams.
type lineSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineSink) process(name string) *procOutput {
	return &procOutput{sink: l, prefix: []byte("[" + name + "] "), flushed: make(chan struct{}, 1)}
}

func (l *lineSink) writeLine(prefix, line []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(append(append(make([]byte, 0, len(prefix)+len(line)+1), prefix...), line...), '\n'))
}

// procOutput receives one process's stdout and stderr (os/exec copies both through one pipe when
// they are the same writer).
type procOutput struct {
	sink    *lineSink
	prefix  []byte
	mu      sync.Mutex
	partial []byte
	// capture, while not nil, also receives each whole line (unprefixed) for LogType: Tail.
	capture *bytes.Buffer
	// flushed receives a value each time flushMarker comes through the pipe.
	flushed chan struct{}
}

// flushMarker is written by the host into the process's own output pipe behind whatever the
// process wrote: when it comes out of the pipe, everything the process wrote before it has been
// read, so an invocation's log is complete even though the pipe is read asynchronously.
const flushMarker = "\x00lambdahost-flush\x00"

// startCapture begins collecting the process's lines for the invocation it is about to run; a
// process runs one invocation at a time.
func (p *procOutput) startCapture() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.capture = &bytes.Buffer{}
}

// stopCapture waits until what the process wrote so far has come through pipe (its write end,
// shared with the process), then ends the collection and returns the lines written since
// startCapture.
func (p *procOutput) stopCapture(pipe io.Writer) []byte {
	if _, err := io.WriteString(pipe, flushMarker+"\n"); err == nil {
		select {
		case <-p.flushed:
		case <-time.After(time.Second): // a process that holds a partial line past this keeps it
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.capture == nil {
		return nil
	}
	b := p.capture.Bytes()
	p.capture = nil
	return b
}

func (p *procOutput) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			return n, nil
		}
		line := b[:i]
		if len(p.partial) > 0 {
			line = append(p.partial, line...)
			p.partial = p.partial[:0]
		}
		b = b[i+1:]
		if j := bytes.Index(line, []byte(flushMarker)); j >= 0 {
			line = append(line[:j:j], line[j+len(flushMarker):]...)
			select {
			case p.flushed <- struct{}{}:
			default:
			}
			if len(line) == 0 {
				continue
			}
		}
		p.sink.writeLine(p.prefix, line)
		if p.capture != nil {
			p.capture.Write(line)
			p.capture.WriteByte('\n')
		}
	}
}

// close writes a last line the process left unterminated.
func (p *procOutput) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.partial) > 0 {
		p.sink.writeLine(p.prefix, p.partial)
		p.partial = nil
	}
}
