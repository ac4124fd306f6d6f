//go:build !race

package crawler_test

const raceBuild = false
