package loadtest

import "time"

// Options say how hard and how long to load one URL.
type Options struct {
	URL         string
	Duration    time.Duration
	Connections int
	Threads     int // wrk threads; the Go client uses one goroutine per connection
}

// Result is one run.
type Result struct {
	Requests int64
	Seconds  float64
	RPS      float64
	P50ms    float64
	P90ms    float64
	P99ms    float64
	MaxMs    float64
	// Non2xx counts answers outside 200-399 (wrk's "status" errors).
	Non2xx int64
	// Errors counts connect, read, write and timeout errors.
	Errors int64
}

// Runner runs one load test.
type Runner interface {
	Run(o Options) (Result, error)
	// Name says which tool measured, for the report.
	Name() string
}
