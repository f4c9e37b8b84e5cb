package membership

import (
	"bytes"
	"context"
	"log/slog"
	"time"
)

// Watch puts the allow-list at path in force in m now, then reads the
// file every interval until ctx ends and puts each new, valid version in
// force. An unreadable or invalid version is logged once and ignored: the
// list in force stays, so a half-written or mistyped edit cannot refuse
// the whole mesh. The first read must succeed (Config.Validate read the
// same file moments ago).
func Watch(ctx context.Context, path string, interval time.Duration, m *Members, log *slog.Logger) (run func(), err error) {
	first, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	l, err := ParseList(first)
	if err != nil {
		return nil, prefixAll(path, err)
	}
	m.Set(l)
	last, bad, unreadable := first, []byte(nil), false
	run = func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			b, err := readLimited(path)
			if err != nil {
				if !unreadable {
					log.Error("allow-list unreadable; the list in force stays", "path", path, "err", err)
					unreadable = true
				}
				continue
			}
			unreadable = false
			if bytes.Equal(b, last) {
				bad = nil
				continue
			}
			if bad != nil && bytes.Equal(b, bad) {
				continue
			}
			l, err := ParseList(b)
			if err != nil {
				log.Error("allow-list invalid; the list in force stays", "path", path, "err", err)
				bad = b
				continue
			}
			last, bad = b, nil
			m.Set(l)
			log.Info("allow-list changed", "path", path, "members", l.Len())
		}
	}
	return run, nil
}
