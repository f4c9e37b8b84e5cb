// Package fielderr is the shape of one configuration problem: the field
// of a package's Config it is about, and what is wrong with it. The
// package that owns a rule states it once, in its Validate; the node,
// which knows under which flag and YAML key each field reaches the
// operator, names the field as the operator wrote it. A leaf: it imports
// nothing of ours.
package fielderr

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Error is one problem with one field.
type Error struct {
	// Field is the Go field's name in the Config that reported it, a
	// dotted path for a field of a nested struct ("PubSub.Timeout").
	Field string
	// Key is the map key a problem of a map field is about ("dht" of
	// Weights); "" for the field as a whole.
	Key string
	// Msg says what is wrong and, where it is not obvious, why; it does
	// not repeat the field's name.
	Msg string
}

// Error names the field as a Go caller knows it, in the snake case the
// YAML keys use ("startup_grace: must be >= 0, got -1s").
func (e *Error) Error() string {
	name := Snake(e.Field)
	if e.Key != "" {
		name += "[" + e.Key + "]"
	}
	return name + ": " + e.Msg
}

// List collects a Validate's problems, one per line when joined.
type List []error

// Add records a problem with field.
func (l *List) Add(field, format string, args ...any) {
	*l = append(*l, &Error{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// AddKey records a problem with one key of a map field.
func (l *List) AddKey(field, key, format string, args ...any) {
	*l = append(*l, &Error{Field: field, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Nest records every problem of a nested struct's Validate under field,
// so that its paths stay relative to the outer Config.
func (l *List) Nest(field string, err error) {
	for _, e := range Split(err) {
		var fe *Error
		if errors.As(e, &fe) {
			n := *fe
			n.Field = field + "." + fe.Field
			e = &n
		}
		*l = append(*l, e)
	}
}

// Err is nil without problems, else every problem joined (errors.Join).
func (l List) Err() error { return errors.Join(l...) }

// Split undoes errors.Join (and List.Err): one error per problem.
func Split(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Snake turns a Go field path into the snake case of the YAML keys:
// "MDNSService" is "mdns_service", "PubSub.Timeout" "pub_sub.timeout".
func Snake(path string) string {
	var b strings.Builder
	r := []rune(path)
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			acronymEnd := i > 0 && unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || acronymEnd {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}
