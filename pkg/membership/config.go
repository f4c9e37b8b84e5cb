package membership

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/meshhealth/meshhealth/internal/fielderr"
)

// Config is the membership part of the node configuration.
type Config struct {
	// AllowList is a file of the peer IDs admitted to the mesh, one a line
	// (ParseList). Empty (the default) admits every peer: right for a LAN
	// testnet, and the first thing to set in production (docs/SECURITY.md),
	// since without it anyone who reaches the port joins, votes and is
	// counted. The file is re-read every ReloadInterval; a peer taken off
	// it is disconnected then, and a bad edit is logged and ignored (the
	// list in force stays).
	AllowList string `yaml:"allow_list,omitempty" flag:"allow-list" usage:"file of the peer IDs admitted to the mesh, one a line, re-read when it changes (default: every peer; set it in production)"`
}

// ReloadInterval is how often the allow-list file is read for changes: a
// removed member is disconnected within it. Two seconds: reading a small
// file costs nothing, and an operator who revokes a key wants it to hold
// before they look again.
const ReloadInterval = 2 * time.Second

// DefaultConfig admits every peer.
func DefaultConfig() Config { return Config{} }

// Validate reads the allow-list, if any, and reports each bad line as a
// problem of its own, so that a list the node would refuse at start (or
// ignore at a reload) fails the configuration instead.
func (c Config) Validate() error {
	var errs fielderr.List
	if c.AllowList == "" {
		return nil
	}
	if _, err := LoadList(c.AllowList); err != nil {
		for _, e := range fielderr.Split(err) {
			errs.Add("AllowList", "%v", e)
		}
	}
	return errs.Err()
}

// LoadList reads and parses the allow-list file at path; each problem of
// the error names the file.
func LoadList(path string) (List, error) {
	b, err := readLimited(path)
	if err != nil {
		return List{}, err
	}
	l, err := ParseList(b)
	if err != nil {
		return List{}, prefixAll(path, err)
	}
	return l, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, MaxListSize+1)
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b[:n], nil
}

func prefixAll(path string, err error) error {
	parts := fielderr.Split(err)
	out := make([]error, len(parts))
	for i, e := range parts {
		out[i] = fmt.Errorf("%s: %w", path, e)
	}
	return errors.Join(out...)
}
