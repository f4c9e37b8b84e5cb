package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad allow-list fails the configuration with one line per bad line of
// the file, each named by its flag, before anything starts.
func TestBadAllowListFailsTheConfigLineByLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allow-list")
	if err := os.WriteFile(path, []byte("12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq\nnot-a-peer\nQmAlsoNot\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Default()
	c.Membership.AllowList = path
	err := c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines %q, want one per bad line", len(lines), lines)
	}
	for i, want := range []string{"line 2", "line 3"} {
		if !strings.HasPrefix(lines[i], "allow-list: "+path) || !strings.Contains(lines[i], want) {
			t.Errorf("line %q: want allow-list: %s ... %s", lines[i], path, want)
		}
	}
}
