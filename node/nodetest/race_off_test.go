//go:build !race

package nodetest

const raceOn = false
