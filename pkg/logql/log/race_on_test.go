//go:build race

package log

// raceEnabled: the race detector allocates, so allocation counts are off.
const raceEnabled = true
