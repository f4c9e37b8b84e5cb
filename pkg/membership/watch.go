package membership

import (
	"bytes"
	"context"
	"log/slog"
	"time"
)

// Watcher keeps the allow-list file in force: it puts each new, valid
// version of the file in its Members. An unreadable or invalid version is
// logged once and ignored: the list in force stays, so a half-written or
// mistyped edit cannot refuse the whole mesh.
type Watcher struct {
	path     string
	interval time.Duration
	m        *Members
	log      *slog.Logger

	last, bad  []byte
	unreadable bool
}

// NewWatcher reads the allow-list at path and puts it in force in m. This
// first read must succeed (Config.Validate read the same file moments
// ago); Run then reads it every interval.
func NewWatcher(path string, interval time.Duration, m *Members, log *slog.Logger) (*Watcher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	l, err := ParseList(b)
	if err != nil {
		return nil, prefixAll(path, err)
	}
	m.Set(l)
	return &Watcher{path: path, interval: interval, m: m, log: log, last: b}, nil
}

// Run reads the file every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.reload()
		}
	}
}

func (w *Watcher) reload() {
	b, err := readLimited(w.path)
	if err != nil {
		if !w.unreadable {
			w.log.Error("allow-list unreadable; the list in force stays", "path", w.path, "err", err)
			w.unreadable = true
		}
		return
	}
	w.unreadable = false
	if bytes.Equal(b, w.last) {
		w.bad = nil
		return
	}
	if w.bad != nil && bytes.Equal(b, w.bad) {
		return
	}
	l, err := ParseList(b)
	if err != nil {
		w.log.Error("allow-list invalid; the list in force stays", "path", w.path, "err", err)
		w.bad = b
		return
	}
	w.last, w.bad = b, nil
	w.m.Set(l)
	w.log.Info("allow-list changed", "path", w.path, "members", l.Len())
}
