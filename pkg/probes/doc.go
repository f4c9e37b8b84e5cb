// Package probes holds the node's health checks: what "healthy" means for a
// mesh node, expressed as health.Check values.
//
// Each check depends on a small interface defined here (something that
// counts peers, something that can publish), never on a concrete libp2p
// type, so every check is tested with fakes and the whole set on mocknet.
// It imports pkg/awareness, pkg/health, pkg/liveness and p2p/wire of the
// node's packages; the table in docs/ARCHITECTURE.md, enforced by
// internal/importboss, has what each package may import.
package probes
