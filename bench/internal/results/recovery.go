package results

// FileRecovery is the recovery section's results.
const FileRecovery = "recovery.json"

// Recovery is a zone of a netns mesh cut off and healed within the recovery
// budget (issue 21), repeated: how long the zone takes to be confirmed cut
// off, to pass every check again and to be healthy after the heal, and
// what each node's recovery recorded.
type Recovery struct {
	Header
	Nodes int `json:"nodes"`
	// Zone is how many nodes (the last ones) lose their links at once.
	Zone          int           `json:"zone"`
	OutageSeconds float64       `json:"outage_seconds"`
	Reps          []RecoveryRep `json:"reps"`
}

// RecoveryRep is one outage. The times are nil when not reached.
type RecoveryRep struct {
	// DetectionSeconds runs from the cut until every zone node is not
	// healthy; PassingSeconds and HealthySeconds from the heal until every
	// node passes every check, and until every node is healthy under one
	// leader.
	DetectionSeconds *float64         `json:"detection_seconds,omitempty"`
	PassingSeconds   *float64         `json:"passing_seconds,omitempty"`
	HealthySeconds   *float64         `json:"healthy_seconds,omitempty"`
	Records          []RecoveryRecord `json:"records,omitempty"`
	Exits            int              `json:"exits"`
	Error            string           `json:"error,omitempty"`
}

// RecoveryRecord is one zone node's last recovery, from its /health.
type RecoveryRecord struct {
	Node    string   `json:"node"`
	Checks  []string `json:"checks"`
	Outcome string   `json:"outcome"`
	FixedBy string   `json:"fixed_by,omitempty"`
	Seconds float64  `json:"seconds"`
}
