package main

import (
	"bytes"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// firstLine is a command's stdout that hands over its first line, for
// helpers that announce their address when ready, and remembers the last
// complete line after it (a helper's latest report, such as "peers N").
type firstLine struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	sent bool
	last string
	line chan string
}

func newFirstLine() *firstLine { return &firstLine{line: make(chan string, 1)} }

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf.Write(p)
	for {
		i := bytes.IndexByte(f.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		l := string(f.buf.Next(i + 1)[:i])
		if !f.sent {
			f.line <- l
			f.sent = true
			continue
		}
		f.last = l
	}
	if f.buf.Len() > 4096 { // a helper that never ends a line
		f.buf.Reset()
	}
	return len(p), nil
}

// Last is the latest complete line after the first ("" before one came).
func (f *firstLine) Last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// stopProcess asks a helper to stop with SIGTERM and kills it after grace.
func stopProcess(cmd *exec.Cmd, grace time.Duration) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}
