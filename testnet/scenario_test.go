package testnet

import (
	"os"
	"strings"
	"testing"
)

func TestBuiltinScenariosParse(t *testing.T) {
	names := Builtins()
	for _, want := range []string{"converge", "kill-leader", "partition-heal", "critical-shutdown", "soak"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("built-in %s missing from %v", want, names)
		}
	}
	for _, name := range names {
		sc, err := LoadScenario(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if sc.Name != name {
			t.Errorf("file %s.yaml names itself %q", name, sc.Name)
		}
	}
}

func TestParseScenarioConditionAsScalarOrList(t *testing.T) {
	sc, err := ParseScenario([]byte(`
name: x
steps:
  - wait: ready
  - chaos: kill
    node: leader
    as: old
  - wait: [new-leader, healthy]
    since: "@old"
    except: ["@old"]
    timeout: 90s
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Steps[2].Wait; len(got) != 2 || got[0] != "new-leader" || got[1] != "healthy" {
		t.Errorf("wait = %q", got)
	}
	if sc.Steps[2].Timeout.D().Seconds() != 90 {
		t.Errorf("timeout = %v", sc.Steps[2].Timeout)
	}
	if sc.Steps[1].Line != 5 {
		t.Errorf("step 2 at line %d, want 5", sc.Steps[1].Line)
	}
}

func TestParseScenarioErrorsNameTheProblemAndTheLine(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown field", "name: x\nsteps:\n  - wait: ready\n    timout: 5s\n", []string{"line 4", "timout"}},
		{"unknown condition", "name: x\nsteps:\n  - wait: readdy\n", []string{"line 3", `unknown condition "readdy"`, "known: ready"}},
		{"two kinds in one step", "name: x\nsteps:\n  - wait: ready\n    chaos: kill\n    node: leader\n", []string{"step 1 (line 3)", "exactly one of"}},
		{"label used before it is defined", "name: x\nsteps:\n  - wait: healthy\n    nodes: ['@victim']\n  - chaos: kill\n    node: leader\n    as: victim\n", []string{"step 1", "@victim", "no earlier chaos step"}},
		{"new-leader without since", "name: x\nsteps:\n  - wait: new-leader\n", []string{"since"}},
		{"bad duration", "name: x\nsteps:\n  - sleep: soon\n", []string{"line 3", `"soon"`}},
		{"unknown chaos", "name: x\nsteps:\n  - chaos: explode\n    node: node:1\n", []string{`unknown chaos "explode"`}},
		{"fault without a component", "name: x\nsteps:\n  - chaos: fault\n    node: leader\n", []string{"component and fault"}},
		{"max-peers without peers", "name: x\nsteps:\n  - assert: max-peers\n", []string{"max-peers needs peers"}},
		{"peers without max-peers", "name: x\nsteps:\n  - assert: ready\n    peers: 4\n", []string{"peers: belongs to"}},
		{"hold without for", "name: x\nsteps:\n  - hold: healthy\n", []string{"hold needs for"}},
		{"bad selector", "name: x\nsteps:\n  - assert: healthy\n    nodes: [leaderr]\n", []string{`"leaderr"`}},
		{"no name, no steps", "description: y\n", []string{"no name", "no steps"}},
		{"not YAML", "name: [\n", []string{"scenario bad.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tt.yaml), "bad.yaml")
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadScenarioUnknownNameListsTheBuiltins(t *testing.T) {
	_, err := LoadScenario("no-such-scenario")
	if err == nil || !strings.Contains(err.Error(), "converge") {
		t.Errorf("err = %v, want the list of built-ins", err)
	}
}

// The example in docs/TESTNET.md is a scenario the parser accepts.
func TestDocumentedExampleParses(t *testing.T) {
	b, err := os.ReadFile("../docs/TESTNET.md")
	if err != nil {
		t.Skipf("docs not beside the package: %v", err)
	}
	doc := string(b)
	start := strings.Index(doc, "```yaml\nname: ")
	if start < 0 {
		t.Fatal("no scenario example in docs/TESTNET.md")
	}
	body := doc[start+len("```yaml\n"):]
	body = body[:strings.Index(body, "```")]
	sc, err := ParseScenario([]byte(body), "docs/TESTNET.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Steps) != 7 {
		t.Errorf("%d steps, want 7", len(sc.Steps))
	}
}
