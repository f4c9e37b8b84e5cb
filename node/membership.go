package node

import (
	"context"
	"log/slog"

	"go.uber.org/fx"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/membership"
)

// members is the mesh's membership when an allow-list is configured: the
// rule in force and the watch that follows the file. Nil fields when off.
type members struct {
	rule  *membership.Members
	watch *membership.Watcher
}

// newMembers puts the configured allow-list in force before the libp2p
// host exists, so that no connection is ever admitted under no rule.
func newMembers(c Config, log *slog.Logger) (*members, error) {
	if c.Membership.AllowList == "" {
		return &members{}, nil
	}
	m := &members{rule: &membership.Members{}}
	var err error
	if m.watch, err = membership.NewWatcher(c.Membership.AllowList, membership.ReloadInterval, m.rule, log); err != nil {
		return nil, err
	}
	log.Info("mesh membership: allow-list in force", "path", c.Membership.AllowList, "members", m.rule.Len())
	return m, nil
}

// wireMembers disconnects the peers each new version of the list drops,
// and runs the watch for as long as the node runs (its hook comes before
// the parts', so it stops after libp2p).
func wireMembers(lc fx.Lifecycle, c Config, m *members, n *p2p.Node, log *slog.Logger) {
	if m.rule == nil {
		return
	}
	m.rule.OnChange(n.Enforce)
	if !m.rule.Admit(n.Host.ID()) {
		log.Warn("this node's own peer ID is not in its allow-list: members that share the list will refuse it",
			"peer_id", n.Host.ID().String(), "allow_list", c.Membership.AllowList)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.StartStopHook(
		func() { go func() { defer close(done); m.watch.Run(ctx) }() },
		func() { cancel(); <-done },
	))
}
