package node

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed (go test ./node -run %s -update rewrites it, if the change is meant):\n--- got\n%s--- want\n%s", path, t.Name(), got, want)
	}
}

// The surfaces operators have written down (files, unit files, scripts)
// are pinned: the default --print-config output, and every flag with its
// MESHHEALTH_* variable and default.
func TestDefaultPrintConfigIsPinned(t *testing.T) {
	t.Setenv("HOME", "/home/operator")
	golden(t, "default-config.yaml", []byte(Default().YAML()))
}

func TestFlagsAndVariablesArePinned(t *testing.T) {
	t.Setenv("HOME", "/home/operator")
	cfg := Default()
	fs := flag.NewFlagSet("meshhealth", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bindFlags(fs, &cfg)
	var b bytes.Buffer
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(&b, "--%s %s=%q\n\t%s\n", f.Name, envName(f.Name), f.DefValue, f.Usage)
	})
	golden(t, "flags.txt", b.Bytes())
}
