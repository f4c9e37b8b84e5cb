package status

import "testing"

func TestValidAndServing(t *testing.T) {
	for _, tc := range []struct {
		s              Status
		valid, serving bool
	}{
		{Starting, true, false},
		{Healthy, true, true},
		{Degraded, true, true},
		{Unhealthy, true, false},
		{Stopping, true, false},
		{"", false, false},
		{"exited", false, false},
	} {
		if got := tc.s.Valid(); got != tc.valid {
			t.Errorf("%q.Valid() = %v, want %v", tc.s, got, tc.valid)
		}
		if got := tc.s.Serving(); got != tc.serving {
			t.Errorf("%q.Serving() = %v, want %v", tc.s, got, tc.serving)
		}
	}
	for _, s := range All() {
		if !s.Valid() {
			t.Errorf("All() holds %q, which is not Valid", s)
		}
	}
}
