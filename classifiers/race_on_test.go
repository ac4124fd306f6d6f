//go:build race

package classifiers

// raceEnabled: the model-fitting gates are pure arithmetic that take
// minutes under the race detector; make test runs them in a second,
// race-free step (make quality).
const raceEnabled = true
