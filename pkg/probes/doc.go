// Package probes holds the node's health checks: what "healthy" means for a
// mesh node, expressed as health.Check values.
//
// Each check depends on a small interface defined here (something that
// counts peers, something that can publish), never on a concrete libp2p
// type, so every check is tested with fakes and the whole set on mocknet.
//
// What the checks decide beyond a result lives here too, for the node only
// to connect: their share of the mesh's message budget (pubsubBudget,
// dhtBudget), when they run again at once on the mesh's events (Reruns),
// and the key metrics they show (KeyMetrics).
// It imports pkg/awareness, pkg/health, pkg/liveness and p2p/wire of the
// node's packages; the table in docs/ARCHITECTURE.md, enforced by
// internal/importboss, has what each package may import.
package probes
