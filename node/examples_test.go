package node

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The example configurations in deploy/examples load and validate. The
// programs their exec checks name live on the operator's machine: a
// missing one is replaced with true(1) here, so that only the rest of the
// file is judged.
func TestDeployExamplesAreValid(t *testing.T) {
	files, err := filepath.Glob("../deploy/examples/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples: %v %v", files, err)
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) to stand in for the examples' plugins")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, _, err := Parse([]string{"--config", f, "--data-dir", t.TempDir()}, env(nil), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Checks) == 0 {
				t.Fatal("no checks")
			}
			for i, c := range cfg.Checks {
				if len(c.Command) > 0 {
					if _, err := os.Stat(c.Command[0]); err != nil {
						cfg.Checks[i].Command[0] = truePath
					}
				}
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("invalid:\n%v", err)
			}
		})
	}
}
