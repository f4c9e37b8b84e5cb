package node

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseAndValidate is what main does before starting anything.
func parseAndValidate(args []string, vars map[string]string) (Config, error) {
	cfg, _, err := Parse(args, env(vars), io.Discard)
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func writeYAML(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadConfigIsRefusedBeforeAnythingStarts(t *testing.T) {
	tests := []struct {
		name string
		args []string
		vars map[string]string
		file string // YAML; --config is added when set
		want string // in the error
	}{
		{name: "NaN weight flag", args: []string{"--weight-pubsub", "NaN"}, want: "weight-pubsub: not a finite number"},
		{name: "infinite weight flag", args: []string{"--weight-dht", "+Inf"}, want: "weight-dht: not a finite number"},
		{name: "NaN weight variable", vars: map[string]string{"MESHHEALTH_WEIGHT_P2P": "nan"}, want: "MESHHEALTH_WEIGHT_P2P"},
		{name: "negative weight", args: []string{"--weight-election", "-0.1"}, want: "weight-election: -0.1 is negative"},
		{name: "NaN weight in YAML", file: "weights:\n  pubsub: .nan\n", want: "weight-pubsub: NaN is not a finite number"},
		{name: "infinite weight in YAML", file: "weights:\n  dht: .inf\n", want: "weight-dht: +Inf is not a finite number"},
		{name: "unknown component under weights", file: "weights:\n  pubsubb: 0.3\n", want: `weights: unknown component "pubsubb"`},
		{name: "unknown key nested", file: "probes:\n  dht:\n    intervall: 5s\n", want: "field intervall not found"},
		{name: "unknown top-level key", file: "min_peer: 2\n", want: "node.yaml: line 1: field min_peer not found"},
		{name: "second YAML document", file: "min_peers: 2\n---\nmin_peers: 3\n", want: "a second YAML document at line 2"},
		{name: "healthy threshold with no room for hysteresis", args: []string{"--healthy-threshold", "1"}, want: "healthy-threshold: 1 leaves no room"},
		{name: "NaN threshold", args: []string{"--degraded-threshold", "NaN"}, want: "degraded-threshold: NaN must be in (0, 1]"},
		{name: "bad flag value", args: []string{"--min-peers", "many"}, want: `invalid value "many" for flag -min-peers`},
		{name: "short fault token", args: []string{"--fault-token", "secret"}, want: "fault-token: at least 16 characters"},
		{name: "no HTTP connections", args: []string{"--max-http-connections", "0"}, want: "max-http-connections: must be >= 1"},
		{name: "conn-high not above conn-low", args: []string{"--conn-low", "64", "--conn-high", "64"}, want: "conn-high: 64 must be > conn-low (64)"},
		{name: "streams could take every connection", args: []string{"--max-http-connections", "10", "--max-event-streams", "10"}, want: "max-event-streams: 10 must be below max-http-connections (10)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeYAML(t, tt.file)}, args...)
			}
			_, err := parseAndValidate(args, tt.vars)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") && !strings.Contains(tt.name, "several") {
				t.Errorf("one problem gave several lines:\n%v", err)
			}
		})
	}
}

func TestEmptyConfigFileMeansTheDefaults(t *testing.T) {
	for name, body := range map[string]string{"empty": "", "comments only": "# nothing set yet\n", "empty document": "---\n"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := parseAndValidate([]string{"--config", writeYAML(t, body)}, nil)
			if err != nil {
				t.Fatalf("an empty file was refused: %v", err)
			}
			if d := Default(); cfg.MinPeers != d.MinPeers || cfg.HTTP != d.HTTP {
				t.Errorf("an empty file changed the defaults: %+v", cfg)
			}
		})
	}
}

func TestEveryValidConfigIsOneTheHealthManagerAccepts(t *testing.T) {
	// Edges of the node's own rules: what passes here must not fail later
	// inside the health manager (exit 1 instead of the config code).
	for _, args := range [][]string{
		{"--healthy-threshold", "0.98", "--degraded-threshold", "0.98"},
		{"--healthy-threshold", "0.5", "--degraded-threshold", "0.01"},
		{"--weight-pubsub", "0", "--weight-dht", "0", "--weight-p2p", "0", "--weight-election", "0", "--weight-resources", "1e-9"},
		{"--score-horizon", "0"},
	} {
		cfg, err := parseAndValidate(args, nil)
		if err != nil {
			continue // refused up front: fine
		}
		if err := cfg.Health.Validate(); err != nil {
			t.Errorf("%v passes node validation but the health manager refuses it: %v", args, err)
		}
	}
}

func TestBadFlagPrintsOneLineNotTheUsage(t *testing.T) {
	var out bytes.Buffer
	_, _, err := Parse([]string{"--min-peers", "x"}, env(nil), &out)
	if err == nil {
		t.Fatal("bad flag value accepted")
	}
	if out.Len() != 0 {
		t.Errorf("a bad flag printed %d bytes of usage:\n%s", out.Len(), out.String())
	}
	out.Reset()
	if _, act, err := Parse([]string{"--help"}, env(nil), &out); err != nil || act != ActionHelp || !strings.Contains(out.String(), "-min-peers") {
		t.Errorf("--help: %v %v, usage %q", act, err, out.String())
	}
}

func TestPrintedConfigLeavesTheFaultTokenOut(t *testing.T) {
	cfg := Default()
	cfg.FaultToken = "0123456789abcdef-secret"
	if y := cfg.YAML(); strings.Contains(y, "secret") {
		t.Fatalf("--print-config shows the fault token:\n%s", y)
	}
}
