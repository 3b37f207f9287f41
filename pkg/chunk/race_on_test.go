//go:build race

package chunk

// raceEnabled: under the race detector sync.Pool drops items at random and
// instrumentation allocates, so allocation counts are off.
const raceEnabled = true
