package node

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Action is what the command line asked for besides running.
type Action int

const (
	ActionRun Action = iota
	ActionPrintConfig
	ActionVersion
	ActionHelp
)

// EnvPrefix prefixes every flag's environment variable: --min-peers is
// MESHHEALTH_MIN_PEERS.
const EnvPrefix = "MESHHEALTH_"

// Parse builds the configuration from, in rising precedence, the defaults,
// the YAML file (--config or MESHHEALTH_CONFIG), MESHHEALTH_* variables and
// the flags. It does not validate; call Validate.
func Parse(args []string, getenv func(string) string, usage io.Writer) (Config, Action, error) {
	cfg := Default()
	if path := configPath(args, getenv); path != "" {
		if err := cfg.LoadFile(path); err != nil {
			return cfg, ActionRun, err
		}
	}
	fs := flag.NewFlagSet("meshhealth", flag.ContinueOnError)
	// The flag package prints every flag's usage around a parse error;
	// an operator wants the one line that says what is wrong, so errors
	// are returned silently and the usage is printed only for --help.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var configFile string
	var printConfig, version bool
	fs.StringVar(&configFile, "config", "", "YAML configuration file (flags and MESHHEALTH_* variables override it)")
	fs.BoolVar(&printConfig, "print-config", false, "print the effective configuration as YAML and exit")
	fs.BoolVar(&version, "version", false, "print the version and exit")
	lists := bindFlags(fs, &cfg)

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", envName(f.Name), v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return cfg, ActionRun, err
	}
	// A list flag given on the command line replaces the variable's list
	// rather than adding to it.
	for _, l := range lists {
		l.set = false
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(usage, "Usage of meshhealth:")
			fmt.Fprintln(usage, "  meshhealth keys id DATA_DIR...  make identities, print an allow-list naming them")
			fs.SetOutput(usage)
			fs.PrintDefaults()
			return cfg, ActionHelp, nil
		}
		return cfg, ActionRun, fmt.Errorf("%w (see --help)", err)
	}
	if fs.NArg() > 0 {
		return cfg, ActionRun, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch {
	case version:
		return cfg, ActionVersion, nil
	case printConfig:
		return cfg, ActionPrintConfig, nil
	}
	return cfg, ActionRun, nil
}

func envName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// configPath finds --config before the flags are parsed, because the file's
// values must sit under the flags, not over them.
func configPath(args []string, getenv func(string) string) string {
	path := getenv(envName("config"))
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == "config" && i+1 < len(args) {
			path = args[i+1]
		} else if v, ok := strings.CutPrefix(a, "config="); ok {
			path = v
		}
	}
	return path
}

type weightValue struct {
	m    map[string]float64
	comp string
}

func (w weightValue) String() string {
	if w.m == nil {
		return ""
	}
	return strconv.FormatFloat(w.m[w.comp], 'g', -1, 64)
}

func (w weightValue) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("not a number")
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return errors.New("not a finite number")
	}
	w.m[w.comp] = v
	return nil
}
