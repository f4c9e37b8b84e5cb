package shutdown

import "testing"

// New fills a literal's zero fields; a setting of 0 is Validate's to refuse.
func TestConfigValidateRefusesNoTimeout(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{}).Validate(); err == nil || err.Error() != "timeout: must be > 0, got 0s" {
		t.Fatalf("Validate of no timeout = %v", err)
	}
	if got := (Config{}).withDefaults(); got.Timeout != DefaultConfig().Timeout || got.GuardMax != DefaultConfig().GuardMax {
		t.Fatalf("withDefaults = %+v, want DefaultConfig's numbers", got)
	}
}
