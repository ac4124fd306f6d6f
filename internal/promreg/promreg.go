// Package promreg registers a package's Prometheus collectors on a
// registry that several instances may share (two crawlers, a reloaded
// classifier, a second review server in tests).
package promreg

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers *c on reg, or, when a collector of the same type is
// already registered under that name, points *c at it so the instances
// share the series. what names the metrics in errors ("crawler metrics").
// It does nothing once *errp is set, so a constructor can register several
// collectors and check one error.
func Register[C prometheus.Collector](reg prometheus.Registerer, c *C, what string, errp *error) {
	if *errp != nil {
		return
	}
	err := reg.Register(*c)
	var are prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
	case errors.As(err, &are):
		if existing, ok := are.ExistingCollector.(C); ok {
			*c = existing
			return
		}
		*errp = fmt.Errorf("register %s: %w", what, err)
	default:
		*errp = fmt.Errorf("register %s: %w", what, err)
	}
}
