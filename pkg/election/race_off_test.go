//go:build !race

package election

const raceOn = false
