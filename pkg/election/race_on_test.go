//go:build race

package election

// raceOn: see partial_test.go.
const raceOn = true
