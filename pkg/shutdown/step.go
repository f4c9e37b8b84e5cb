package shutdown

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrTotalTimeout is why a step was skipped: the shutdown's total
	// timeout had passed before its turn.
	ErrTotalTimeout = errors.New("shutdown timeout passed before its turn")
	// ErrLate is why a step was skipped: it was registered after its phase
	// had begun.
	ErrLate = errors.New("registered after its phase had begun")
)

// step is one hook or component stop, ready to run.
type step struct {
	phase   Phase
	kind    string
	name    string
	timeout time.Duration
	fn      func(ctx context.Context) error
}

// run calls the step under min(own timeout, time left before deadline) and
// returns as soon as it finishes or that bound passes. A step that overruns
// is abandoned: its goroutine keeps running (Go cannot kill it) but the
// shutdown goes on without it, so one stuck part never holds the rest.
func (s step) run(deadline time.Time) StepReport {
	r := StepReport{Phase: s.phase, Kind: s.kind, Name: s.name}
	begin := time.Now()
	left := deadline.Sub(begin)
	if left <= 0 {
		r.Skipped, r.Err = true, ErrTotalTimeout
		return r
	}
	r.Timeout = s.timeout
	if left < r.Timeout {
		r.Timeout, r.CutShort = left, true
	}
	// A deadline, not a timeout, so the total bound holds to the instant.
	ctx, cancel := context.WithDeadline(context.Background(), begin.Add(r.Timeout))
	defer cancel()

	// Buffered, so an abandoned step can still finish and exit.
	done := make(chan error, 1)
	go func() { done <- call(ctx, s.fn) }()

	select {
	case err := <-done:
		r.Duration, r.Err = time.Since(begin), err
		// A step that gives up because its context ended did overrun.
		r.TimedOut = err != nil && ctx.Err() != nil
	case <-ctx.Done():
		r.Duration = time.Since(begin)
		select {
		case err := <-done: // finished just as the bound passed
			r.Err = err
			r.TimedOut = err != nil
		default:
			r.TimedOut = true
			r.Err = fmt.Errorf("abandoned after %s: %w", r.Timeout, context.DeadlineExceeded)
		}
	}
	return r
}

// call runs fn, turning a panic into an error: a panicking stop function
// must not take the rest of the shutdown (and the exit code) down with it.
func call(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return fn(ctx)
}
