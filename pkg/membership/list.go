package membership

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
)

// MaxListSize bounds the allow-list file: about 19,000 peer IDs, far past
// any mesh this node is built for, and small enough that reading it every
// poll costs nothing.
const MaxListSize = 1 << 20

// List is a set of admitted peer IDs. The zero value admits no one.
type List struct {
	ids map[peer.ID]struct{}
}

// NewList is the set of ids.
func NewList(ids ...peer.ID) List {
	l := List{ids: make(map[peer.ID]struct{}, len(ids))}
	for _, id := range ids {
		l.ids[id] = struct{}{}
	}
	return l
}

// Has reports whether id is on the list.
func (l List) Has(id peer.ID) bool {
	_, ok := l.ids[id]
	return ok
}

// Len is the number of peer IDs on the list.
func (l List) Len() int { return len(l.ids) }

// IDs are the list's peer IDs in a stable order.
func (l List) IDs() []peer.ID {
	out := make([]peer.ID, 0, len(l.ids))
	for id := range l.ids {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Format writes the list in the form ParseList reads: one peer ID a line,
// sorted, after a comment saying what the file is.
func (l List) Format() []byte {
	var b bytes.Buffer
	b.WriteString("# meshhealth allow-list: the peer IDs admitted to the mesh, one a line\n")
	for _, id := range l.IDs() {
		b.WriteString(id.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseList reads an allow-list: one peer ID (its text form, as /health
// shows it) per line; blank lines and everything after a '#' are ignored,
// so an operator can say which pod each ID is. The error holds one line
// per problem (errors.Join), each naming its line number. A list that
// names no peer is an error: it would refuse everyone, this node's peers
// included, which is never what an edit meant.
func ParseList(b []byte) (List, error) {
	if len(b) > MaxListSize {
		return List{}, fmt.Errorf("%d bytes, more than %d", len(b), MaxListSize)
	}
	l := List{ids: map[peer.ID]struct{}{}}
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), MaxListSize)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		id, err := peer.Decode(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %q is not a peer ID", n, truncate(line)))
			continue
		}
		l.ids[id] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 && len(l.ids) == 0 {
		errs = append(errs, errors.New("names no peer: it would refuse every one"))
	}
	if len(errs) > 0 {
		return List{}, errors.Join(errs...)
	}
	return l, nil
}

// truncate keeps a quoted bad line short in a log or an error.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
