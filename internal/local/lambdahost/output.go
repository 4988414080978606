package lambdahost

import (
	"bytes"
	"io"
	"sync"
)

// lineSink interleaves the output of many processes into one writer a whole line at a time, each
// line labelled with the process it came from, as a log console groups a function's streams.
type lineSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineSink) process(name string) *procOutput {
	return &procOutput{sink: l, prefix: []byte("[" + name + "] ")}
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
		p.sink.writeLine(p.prefix, line)
		b = b[i+1:]
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
