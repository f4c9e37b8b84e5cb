package probes

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

func TestProbeMetricsAreLintClean(t *testing.T) {
	reg := prometheus.NewRegistry()
	sk, self := edKey(t)
	if _, err := NewPubSubRoundTrip(&fakeTopic{}, self, allDirect(true), nil, PubSubConfig{}, reg, nil); err != nil {
		t.Fatal(err)
	}
	d, err := NewDHTIntegrity(&fakeStore{}, sk, DHTConfig{}, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.violations.Inc()
	if _, err := NewActivity(time.Second, func() bool { return true }, &fakeTrigger{}, nil, reg, nil); err != nil {
		t.Fatal(err)
	}
	names := testkit.Lint(t, reg)
	for _, want := range []string{
		"meshhealth_pubsub_probe_rtt_seconds", "meshhealth_dht_probe_put_seconds", "meshhealth_dht_probe_get_seconds",
		"meshhealth_dht_integrity_violations_total", "meshhealth_pubsub_probe_acks_received_total",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("metric %s not exported", want)
		}
	}
}
