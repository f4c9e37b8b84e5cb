package wire

import (
	"errors"
	"fmt"
)

// Reasons a message is refused. They are the values of the reason label of
// meshhealth_pubsub_rejected_total; a topic's Check hook adds its own.
const (
	ReasonOversized    = "oversized"
	ReasonMalformed    = "malformed"
	ReasonBadVersion   = "bad_version"
	ReasonUnknownType  = "unknown_type"
	ReasonUnknownTopic = "unknown_topic"
	ReasonWrongOrigin  = "wrong_origin"
	ReasonStale        = "stale"
	ReasonReplayed     = "replayed"
)

// Error is a refused message: the reason it is counted under and what was
// wrong with it.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func reject(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// ReasonOf returns the reason of a refused message's error: "" for nil and
// "malformed" for an error that is not an *Error.
func ReasonOf(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonMalformed
}
