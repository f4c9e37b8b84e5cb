package metrics

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func counter(name string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: "test"})
}

func TestRegisterIsAllOrNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	taken := counter("taken_total")
	if err := Register(reg, taken); err != nil {
		t.Fatal(err)
	}
	err := Register(reg, counter("fresh_total"), counter("taken_total"))
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) || are.ExistingCollector != taken {
		t.Fatalf("err = %v, want an AlreadyRegisteredError naming the existing collector", err)
	}
	if n, _ := testutil.GatherAndCount(reg); n != 1 {
		t.Fatalf("%d series after a failed Register, want only the first call's 1", n)
	}
	if err := Register(reg, counter("fresh_total")); err != nil {
		t.Fatalf("the failed call left fresh_total registered: %v", err)
	}
}

func TestRegisterOnNilRegistryRegistersNothing(t *testing.T) {
	if err := Register(nil, counter("x_total")); err != nil {
		t.Fatal(err)
	}
}
