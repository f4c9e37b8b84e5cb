package node

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// The checks come from the file, with weights for their components.
func TestChecksSectionLoadsWithWeightsForItsComponents(t *testing.T) {
	file := writeConfig(t, `
weights:
  web: 0.2
checks:
  - name: web
    kind: http
    url: http://127.0.0.1:8080/healthz
    interval: 5s
    timeout: 1s
  - name: db-port
    kind: tcp
    address: 127.0.0.1:5432
    component: web
`)
	cfg, act, err := Parse([]string{"--config", file}, env(nil), io.Discard)
	if err != nil || act != ActionRun {
		t.Fatal(act, err)
	}
	if len(cfg.Checks) != 2 || cfg.Checks[1].Address != "127.0.0.1:5432" {
		t.Fatalf("checks = %+v", cfg.Checks)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if cfg.Health.Weights["web"] != 0.2 || cfg.Health.Weights["pubsub"] != 0.3 {
		t.Errorf("weights = %v, want web added to the defaults", cfg.Health.Weights)
	}
	if !strings.Contains(cfg.YAML(), "address: 127.0.0.1:5432") {
		t.Errorf("--print-config lacks the checks:\n%s", cfg.YAML())
	}
	// A weight for a component no check has is still a typo.
	cfg.Health.Weights["wbe"] = 0.1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `unknown component "wbe"`) {
		t.Errorf("weight of an unknown component: %v", err)
	}
}

func TestBadChecksAreOneConfigLineEach(t *testing.T) {
	file := writeConfig(t, `
checks:
  - name: web
    kind: http
  - name: p2p-connectivity
    kind: tcp
    address: 127.0.0.1:1
  - name: disk
    kind: exec
    command: [/nonexistent/check-disk]
    interval: 1s
    timeout: 1s
`)
	cfg, _, err := Parse([]string{"--config", file}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	want := []string{
		"checks: web: url must be set",
		"checks: p2p-connectivity: name is reserved for the node's own check",
		"checks: disk: timeout 1s must be below the interval 1s",
		`checks: disk: command "/nonexistent/check-disk": `,
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got:\n%s\nwant %d lines", err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want %q...", i, lines[i], w)
		}
	}
}

func TestMisspeltCheckKeyIsAFileError(t *testing.T) {
	file := writeConfig(t, "checks:\n  - name: web\n    kind: http\n    ulr: http://a/\n")
	if _, _, err := Parse([]string{"--config", file}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "ulr") {
		t.Errorf("Parse: %v, want the unknown key named", err)
	}
}
