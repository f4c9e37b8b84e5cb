package node

import (
	"context"
	"log/slog"

	"github.com/meshhealth/meshhealth/pkg/membership"
)

// newMembers puts the allow-list in force, when the configuration names
// one, and returns the start of its watch (a goroutine re-reading the file
// every membership.ReloadInterval until the node stops). Nil without a
// list: every peer is admitted.
func newMembers(c Config, log *slog.Logger, o *opened) (*membership.Members, func(), error) {
	if c.Membership.AllowList == "" {
		return nil, nil, nil
	}
	m := &membership.Members{}
	ctx, cancel := context.WithCancel(context.Background())
	run, err := membership.Watch(ctx, c.Membership.AllowList, membership.ReloadInterval, m, log)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	log.Info("mesh membership: allow-list in force", "path", c.Membership.AllowList, "members", m.Len())
	done := make(chan struct{})
	started := false
	o.add(func() error {
		cancel()
		if started {
			<-done
		}
		return nil
	})
	return m, func() {
		started = true
		go func() {
			defer close(done)
			run()
		}()
	}, nil
}
