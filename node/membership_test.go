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

// `meshhealth keys id` makes the identities a node would and prints an
// allow-list that names them and that the node accepts.
func TestKeysIDPrintsAnAllowListOfTheDataDirsIdentities(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	var out, errs strings.Builder
	if code := Keys([]string{"id", a, b}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	path := filepath.Join(t.TempDir(), "allow-list")
	if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Default()
	c.Membership.AllowList = path
	if err := c.Validate(); err != nil {
		t.Fatalf("the node refuses the list: %v\n%s", err, out.String())
	}
	var again strings.Builder
	Keys([]string{"id", a, b}, &again, &errs)
	if again.String() != out.String() {
		t.Errorf("a second run changed the peer IDs:\n%s\nthen\n%s", out.String(), again.String())
	}
	if code := Keys([]string{"nope"}, &out, &errs); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
}
