package node

import (
	"errors"
	"strings"

	"go.uber.org/dig"
)

// StartupError is err, a failure to build or start the node, as one line
// that says what is wrong and where: fx and dig wrap the error a
// constructor or start hook returned in several hundred characters about
// the dependency graph ("could not build arguments for function ...:
// failed to build ...: received non-nil error from function ..."), which
// is the same for every failure and hides the one that matters.
func StartupError(err error) string {
	root := dig.RootCause(err)
	// A start hook's error comes back wrapped by fx alone; the hook's own
	// error is the innermost one that still carries our context, which is
	// the first one whose message is not fx's.
	for {
		next := errors.Unwrap(root)
		if next == nil || !strings.Contains(root.Error(), "OnStart hook") {
			break
		}
		root = next
	}
	return strings.Join(strings.Fields(root.Error()), " ")
}
