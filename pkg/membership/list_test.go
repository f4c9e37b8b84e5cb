package membership

import (
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func newID(t testing.TB) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestParseListReadsIDsCommentsAndBlankLines(t *testing.T) {
	a, b := newID(t), newID(t)
	src := "# the mesh\n\n" + a.String() + "   # meshhealth-0\n  " + b.String() + "\n" + a.String() + "\n"
	l, err := ParseList([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 2 || !l.Has(a) || !l.Has(b) || l.Has(newID(t)) {
		t.Fatalf("list %v: want exactly %s and %s", l.IDs(), a, b)
	}
	again, err := ParseList(l.Format())
	if err != nil || again.Len() != 2 || !again.Has(a) || !again.Has(b) {
		t.Fatalf("Format does not read back: %v, %v", again.IDs(), err)
	}
}

func TestParseListReportsEachBadLine(t *testing.T) {
	a := newID(t)
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"two bad lines", a.String() + "\nnot-an-id\n\nQmNope\n", []string{"line 2: \"not-an-id\"", "line 4: \"QmNope\""}},
		{"empty", "", []string{"names no peer"}},
		{"only comments", "# nobody yet\n", []string{"names no peer"}},
		{"too large", strings.Repeat("#", MaxListSize+1), []string{"more than"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseList([]byte(tc.src))
			if err == nil {
				t.Fatal("accepted")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("%d problems %q, want %d", len(lines), lines, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("problem %d %q does not say %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestMembersAdmitEveryoneUntilAListIsSet(t *testing.T) {
	a, b := newID(t), newID(t)
	var nilMembers *Members
	if !nilMembers.Admit(a) {
		t.Error("a nil Members refused a peer")
	}
	var m Members
	changes := 0
	m.OnChange(func() { changes++ })
	if !m.Admit(a) || m.On() {
		t.Fatal("off by default: every peer admitted")
	}
	m.Set(NewList(a))
	if !m.Admit(a) || m.Admit(b) || !m.On() || m.Len() != 1 || changes != 1 {
		t.Fatalf("with [a]: admit a %v, b %v, on %v, len %d, changes %d", m.Admit(a), m.Admit(b), m.On(), m.Len(), changes)
	}
}

// FuzzParseList: the allow-list is operator input read on every change; no
// input may panic, and whatever it accepts reads back the same.
func FuzzParseList(f *testing.F) {
	f.Add([]byte("# c\n12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq\n"))
	f.Add([]byte("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N # x\n\n"))
	f.Add([]byte("#\n#\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseList(b)
		if err != nil {
			return
		}
		again, err := ParseList(l.Format())
		if err != nil || again.Len() != l.Len() {
			t.Fatalf("accepted list does not read back: %d vs %d, %v", again.Len(), l.Len(), err)
		}
		for _, id := range l.IDs() {
			if !again.Has(id) {
				t.Fatalf("%s lost on the way back", id)
			}
		}
	})
}
