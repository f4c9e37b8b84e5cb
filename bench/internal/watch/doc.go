// Package watch turns a series of testnet observations (every node's
// status, failing checks and leader at one moment) into the events the
// benchmarks time: the faulted node leaving healthy, the expected check
// failing, the others agreeing on a new leader; and, for the soak, every
// status or leader change. It is pure logic over observations, so every
// rule is tested on hand-made series without starting a node.
//
// It may import the testnet library's types but must not drive a testnet.
package watch
