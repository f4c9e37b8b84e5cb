package probes

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestDefaultSchedulesAreValid(t *testing.T) {
	if err := DefaultSchedules().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestScheduleValidateSaysEachProblemOnce(t *testing.T) {
	tests := []struct {
		name string
		s    Schedule
		want []string
	}{
		{"timeout above interval", Schedule{Interval: time.Second, Timeout: 2 * time.Second}, []string{"timeout: 2s exceeds the interval 1s"}},
		{"no interval", Schedule{Timeout: time.Second}, []string{"interval: must be > 0"}},
		{"nothing", Schedule{}, []string{"interval: must be > 0", "timeout: must be > 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSchedules()
			s.DHT = tt.s
			err := s.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("%d lines, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if want := "dht." + w; !strings.HasPrefix(lines[i], want) {
					t.Errorf("line %q, want %q", lines[i], want)
				}
			}
		})
	}
}

// A probe built with no schedule runs on the default one: the numbers
// live in DefaultSchedules only.
func TestProbesWithoutAScheduleUseTheDefaults(t *testing.T) {
	sk, self := edKey(t)
	p, err := NewPubSubRoundTrip(&fakeTopic{}, self, allDirect(true), nil, PubSubConfig{}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDHTIntegrity(&fakeStore{}, sk, DHTConfig{}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultSchedules()
	if c := p.Check(); c.Interval != def.PubSub.Interval || c.Timeout != def.PubSub.Timeout {
		t.Errorf("pubsub check runs every %v within %v, want %v within %v", c.Interval, c.Timeout, def.PubSub.Interval, def.PubSub.Timeout)
	}
	if c := d.Check(); c.Interval != def.DHT.Interval || c.Timeout != def.DHT.Timeout {
		t.Errorf("dht check runs every %v within %v, want %v within %v", c.Interval, c.Timeout, def.DHT.Interval, def.DHT.Timeout)
	}
}
