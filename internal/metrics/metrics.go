// Package metrics holds the one way the node's packages register their
// Prometheus collectors, so that every package treats a failure the same.
package metrics

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers every collector on reg, or none of them. A nil reg
// registers nothing (a component built without metrics still works). On
// any failure it unregisters the collectors this call registered and
// returns every failure joined: a collector already on reg is an error
// like any other, its prometheus.AlreadyRegisteredError reachable with
// errors.As for a caller that means to share the existing collector (as
// p2p/wire's rejection counter does). Whether an error stops the caller is
// the caller's decision, never this function's.
func Register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	var errs []error
	var done []prometheus.Collector
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, c)
	}
	if len(errs) == 0 {
		return nil
	}
	for _, c := range done {
		reg.Unregister(c)
	}
	return errors.Join(errs...)
}
