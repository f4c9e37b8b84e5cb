// Package sim runs many real meshhealth nodes in one Go process over a
// simulated network in virtual time: go-libp2p hosts speaking QUIC over
// github.com/marcopolo/simnet's packet links (latency, bandwidth), each
// with the node's own composition attached to it (node.Attach), inside a
// testing/synctest bubble where the clock moves only when every goroutine
// is blocked. Only the transport (simulated links instead of sockets),
// discovery (bootstrap addresses instead of mDNS) and the clock differ from
// a node process; docs/TESTNET.md ("Sim mode") says what that can and
// cannot show.
//
// Start must be called inside a synctest bubble (synctest.Test): outside
// one the mesh runs, but in real time. The seed fixes the identities, the
// topology (bootstrap peers, per-node link latency) and the packet loss
// draws' sequence; the goroutines' interleaving is the runtime's, so two
// runs of one seed agree on their inputs, not on every message.
//
// Run plays the simulator's own scenarios (faults a scenario file cannot
// say); RunScenario plays the testnet's scenario files through the
// testnet's engine, with the mesh as its Cluster.
//
// It imports the node through its public composition API only (node.Attach,
// node.Config, node.Parse for a scenario's node flags) and never a package
// that decides: it is the network around the nodes, not a model of them.
// It imports the testnet for its engine; the testnet never imports it.
package sim
