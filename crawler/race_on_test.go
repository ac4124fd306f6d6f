//go:build race

package crawler_test

// raceBuild: the race detector makes the pure-Go SQLite some 20 times
// slower; tests that measure volume run smaller under it.
const raceBuild = true
