package probes

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
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
	if _, err := NewActivity(time.Second, func() bool { return true }, &fakeTrigger{}, reg, nil); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	for _, want := range []string{
		"meshhealth_pubsub_probe_rtt_seconds", "meshhealth_dht_probe_put_seconds", "meshhealth_dht_probe_get_seconds",
		"meshhealth_dht_integrity_violations_total", "meshhealth_pubsub_probe_acks_received_total",
	} {
		found := false
		for _, mf := range mfs {
			found = found || mf.GetName() == want
		}
		if !found {
			t.Errorf("metric %s not exported", want)
		}
	}
}
