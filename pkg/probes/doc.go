// Package probes holds the node's health checks: what "healthy" means for a
// mesh node, expressed as health.Check values.
//
// Each check depends on a small interface defined here (something that
// counts peers, something that can publish), never on a concrete libp2p
// type, so every check is tested with fakes and the whole set on mocknet.
// This package must not import cmd/ or node/.
package probes
