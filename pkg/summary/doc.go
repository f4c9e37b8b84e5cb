// Package summary runs the meshhealth/summary/v1 topic: every node publishes
// a short health summary every 10 s and a goodbye when it leaves on purpose,
// and keeps the latest summary of each peer. The testnet reads the mesh's
// view from it, and the pubsub probe takes responders from it and forgets a
// peer the moment it says goodbye, so a graceful leave is never counted as
// a failure.
//
// It depends on a joined topic (*pubsub.Topic) through a small interface and
// on p2p/wire for the bytes. It must never import pkg/health, pkg/probes,
// node/ or cmd/: the node hands it a function returning its current values.
package summary
