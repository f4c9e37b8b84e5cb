package importboss

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/meshhealth/meshhealth/"

// rule says what a package (or, with a trailing "/...", a subtree) may
// import of ours. Every package of the module must match one rule, so a new
// package is placed in the architecture before it builds on anything.
type rule struct {
	pkg string
	// may are our packages (or subtrees) the package may import.
	may []string
	// testMay are what its tests may import besides may (a test may always
	// import the shared helpers, internal/testkit and, from an _test
	// package, its own package).
	testMay []string
	// never are outside import paths (prefixes) that must not appear among
	// the package's dependencies, direct or not.
	never []string
}

var rules = []rule{
	{pkg: "pkg/status"},
	{pkg: "p2p/wire"},
	{pkg: "p2p/conntags"},
	{pkg: "p2p", may: []string{"p2p/wire", "p2p/conntags"}},
	// This process's own health: a leaf every part that judges evidence reads.
	{pkg: "pkg/awareness", never: []string{"github.com/libp2p/"}},
	{pkg: "pkg/liveness", may: []string{"pkg/awareness", "p2p/wire"}},
	{pkg: "pkg/health", may: []string{"pkg/awareness", "internal/sse"}, never: []string{"github.com/libp2p/"}},
	{pkg: "pkg/probes", may: []string{"pkg/awareness", "pkg/health", "pkg/liveness", "p2p/wire"},
		// The goodbye test runs real summary books on mocknet.
		testMay: []string{"pkg/summary"}},
	// The operator's checks become health checks; p2p says what a
	// meshhealth DHT key is.
	{pkg: "pkg/opchecks", may: []string{"pkg/health", "p2p"}},
	{pkg: "pkg/election", may: []string{"p2p/wire"}},
	{pkg: "pkg/summary", may: []string{"p2p/wire"}},
	{pkg: "pkg/shutdown", never: []string{"github.com/libp2p/"}},
	// Recovery before exit: a pure core and its driver; the steps are the node's.
	{pkg: "pkg/recovery", never: []string{"github.com/libp2p/"}},
	// Who may join: a leaf the node composes into p2p's edges.
	{pkg: "pkg/membership"},
	{pkg: "pkg/meshview", may: []string{"pkg/liveness", "pkg/summary", "internal/sse"}, testMay: []string{"p2p/wire"}},
	{pkg: "node", may: []string{"p2p/...", "pkg/..."}},
	// nodetest builds whole nodes on mocknet for tests, through node.
	{pkg: "node/nodetest", may: []string{"node", "pkg/health", "pkg/shutdown", "internal/testkit", "internal/testmesh"}, testMay: []string{"pkg/probes", "pkg/liveness"}},
	{pkg: "cmd/node", may: []string{"node", "pkg/shutdown"}},
	// The testnet and the bench see a node only through its binary and HTTP;
	// the testnet decodes /health/mesh with pkg/meshview's types.
	{pkg: "testnet/...", may: []string{"testnet/internal/...", "pkg/meshview"}},
	// The simulated mesh attaches real nodes to simulated hosts in one
	// process, through the node's public composition API, and runs the
	// testnet's scenarios on them through its engine (testnet never
	// imports testnet/sim: the "testnet/..." rule does not allow it).
	{pkg: "testnet/sim", may: []string{"node", "pkg/awareness", "testnet"}},
	{pkg: "cmd/testnet", may: []string{"testnet"}},
	// The bare host of the baseline holds the node's degree with the
	// node's connection weighing, and nothing else of ours.
	{pkg: "bench/...", may: []string{"bench/internal/...", "testnet", "p2p/conntags"}},
	// The report reads results without starting anything.
	{pkg: "bench/internal/results"},
	// Shared internals: leaves, importing nothing of ours.
	{pkg: "internal/..."},
	// Deployment tools: the image's healthcheck speaks HTTP only; seedkeys
	// makes identity keys with p2p's own code (its test starts a node).
	{pkg: "deploy/healthcheck"},
	{pkg: "deploy/seedkeys", may: []string{"p2p", "pkg/membership"}, testMay: []string{"node"}},
}

// shared are the leaves any package may import: they import nothing of
// ours, so they create no path between the parts. pkg/status is the
// vocabulary of the node's HTTP and wire contract (statuses, component
// names); internal/metrics the one way to register collectors;
// internal/budget the one formula of the message budget, internal/fielderr
// the shape of a configuration problem, so each package validates its own
// section and the node names the field.
var shared = []string{"pkg/status", "internal/metrics", "internal/budget", "internal/fielderr"}

// testShared are the helpers any test may import.
var testShared = []string{"internal/testkit", "internal/testmesh"}

// listed is one package as go list sees it, our imports only, and every
// dependency for the never rules.
type listed struct {
	path                 string
	imports, tests, deps []string
}

func TestImportRules(t *testing.T) {
	for _, p := range goList(t) {
		r, ok := ruleFor(p.path)
		if !ok {
			t.Errorf("%s is in no rule: add it to the table in docs/ARCHITECTURE.md and to rules here", p.path)
			continue
		}
		for _, imp := range p.imports {
			if !allowed(imp, r.may) && !allowed(imp, shared) {
				t.Errorf("%s imports %s: not allowed (may import %v; docs/ARCHITECTURE.md, The parts)", p.path, imp, orNothing(r.may))
			}
		}
		for _, imp := range p.tests {
			if imp == p.path || allowed(imp, r.may) || allowed(imp, r.testMay) || allowed(imp, shared) || allowed(imp, testShared) {
				continue
			}
			t.Errorf("tests of %s import %s: not allowed (may import %v)", p.path, imp, orNothing(append(r.may, r.testMay...)))
		}
		for _, bad := range r.never {
			if i := slices.IndexFunc(p.deps, func(d string) bool { return strings.HasPrefix(d, bad) }); i >= 0 {
				t.Errorf("%s depends on %s: it must never depend on %s", p.path, p.deps[i], bad)
			}
		}
	}
}

// TestRulesMatchArchitecture keeps the table in docs/ARCHITECTURE.md and the
// rules above saying the same thing.
func TestRulesMatchArchitecture(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([^`]+)` \\|[^|]*\\| (.*) \\|$")
	name := regexp.MustCompile("`([^`]+)`")
	rows := 0
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		rows++
		pkg, col := m[1], m[2]
		r, ok := ruleFor(pkg)
		if !ok || r.pkg != pkg {
			t.Errorf("ARCHITECTURE.md lists %s, which has no rule of its own here", pkg)
			continue
		}
		if strings.HasPrefix(col, "everything") {
			continue
		}
		var may []string
		for _, n := range name.FindAllStringSubmatch(col, -1) {
			may = append(may, n[1])
		}
		if col != "nothing" && len(may) == 0 {
			t.Errorf("ARCHITECTURE.md: %s may import %q: neither \"nothing\" nor package names", pkg, col)
		}
		got, want := slices.Sorted(slices.Values(may)), slices.Sorted(slices.Values(r.may))
		if !slices.Equal(got, want) {
			t.Errorf("%s: ARCHITECTURE.md says it may import %v, the rules say %v", pkg, orNothing(got), orNothing(want))
		}
	}
	if rows < 8 {
		t.Fatalf("found %d package rows in ARCHITECTURE.md's table; has its layout changed?", rows)
	}
}

// ruleFor is the most specific rule for pkg: its own, else the longest
// subtree holding it.
func ruleFor(pkg string) (rule, bool) {
	best, found := rule{}, false
	for _, r := range rules {
		if r.pkg == pkg {
			return r, true
		}
		if within(pkg, r.pkg) && (!found || len(r.pkg) > len(best.pkg)) {
			best, found = r, true
		}
	}
	return best, found
}

func allowed(imp string, may []string) bool {
	return slices.ContainsFunc(may, func(m string) bool { return imp == m || within(imp, m) })
}

// within reports whether pkg lies in the subtree pattern "dir/...".
func within(pkg, pattern string) bool {
	dir, ok := strings.CutSuffix(pattern, "/...")
	return ok && (pkg == dir || strings.HasPrefix(pkg, dir+"/"))
}

func orNothing(s []string) any {
	if len(s) == 0 {
		return "nothing of ours"
	}
	return s
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func goList(t *testing.T) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-f",
		`{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}|{{join .Deps " "}}`, "./...")
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []listed
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) != 4 {
			t.Fatalf("go list: unexpected line %q", line)
		}
		pkgs = append(pkgs, listed{
			path:    strings.TrimPrefix(f[0], module),
			imports: ours(f[1]),
			tests:   ours(f[2]),
			deps:    strings.Fields(f[3]),
		})
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// ours keeps the module's own import paths, without the module prefix.
func ours(field string) []string {
	var out []string
	for _, p := range strings.Fields(field) {
		if rest, ok := strings.CutPrefix(p, module); ok {
			out = append(out, rest)
		}
	}
	return out
}
