//go:build race

package nodetest

// raceOn: the race detector multiplies every node's memory and CPU, and
// the nodes of one test share the process with the next ones.
const raceOn = true
