package testnet

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

//go:embed scenarios/*.yaml
var builtinFS embed.FS

// Builtins lists the built-in scenarios by name.
func Builtins() []string {
	entries, _ := fs.ReadDir(builtinFS, "scenarios")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// Builtin returns the built-in scenario's source.
func Builtin(name string) ([]byte, error) {
	b, err := builtinFS.ReadFile(path.Join("scenarios", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("no built-in scenario %q; built-in: %s", name, strings.Join(Builtins(), ", "))
	}
	return b, nil
}

// LoadScenario takes a built-in's name or a file's path: a name that is
// not an existing file and has no .yaml or .yml suffix is a built-in.
func LoadScenario(nameOrFile string) (*Scenario, error) {
	if _, err := os.Stat(nameOrFile); err == nil || strings.HasSuffix(nameOrFile, ".yaml") || strings.HasSuffix(nameOrFile, ".yml") {
		b, err := os.ReadFile(nameOrFile)
		if err != nil {
			return nil, fmt.Errorf("scenario file: %w", err)
		}
		return ParseScenario(b, nameOrFile)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("scenario file: %w", err)
	}
	b, err := Builtin(nameOrFile)
	if err != nil {
		return nil, err
	}
	return ParseScenario(b, "builtin")
}
