// Package opchecks is the operator's own checks: the `checks:` section of
// the node's configuration file, its validation, and one small runner per
// kind (http, tcp, exec, peer, dht-get) that becomes a health.Check. The
// health manager runs them like the built-in probes: same scheduler,
// debounce, staleness, scores, metrics, events and endpoints.
//
// The http, tcp and exec runners use the standard library only. The peer
// and dht-get runners reach the mesh through two small interfaces the node
// fills (Pinger, Getter), so this package builds no libp2p host; it reads
// p2p only for the shape of a meshhealth DHT key.
//
// An exec check runs a command the configuration names, as the node's
// user: it is declared only in the file (there is no HTTP or flag way to
// add one), runs without a shell and with a minimal environment, and is
// killed with its process group when it overruns its timeout
// (docs/SECURITY.md).
package opchecks
