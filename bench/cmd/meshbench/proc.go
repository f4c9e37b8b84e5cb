package main

import (
	"bytes"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// firstLine is a command's stdout that hands over its first line, for
// helpers that announce their address when ready, and discards the rest.
type firstLine struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	sent bool
	line chan string
}

func newFirstLine() *firstLine { return &firstLine{line: make(chan string, 1)} }

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sent {
		return len(p), nil
	}
	f.buf.Write(p)
	if i := bytes.IndexByte(f.buf.Bytes(), '\n'); i >= 0 {
		f.line <- string(f.buf.Bytes()[:i])
		f.sent = true
		f.buf.Reset()
	}
	return len(p), nil
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
