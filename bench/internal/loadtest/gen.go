package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/stats"
)

// Gen is the Go load generator used when wrk is not installed: closed
// loop, one goroutine per connection, every latency kept.
type Gen struct{}

// Name says what measured.
func (Gen) Name() string { return "meshbench Go client (wrk not installed)" }

// Run loads o.URL for o.Duration over o.Connections keep-alive connections.
func (Gen) Run(o Options) (Result, error) {
	conns := max(o.Connections, 1)
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), o.Duration)
	defer cancel()

	var non2xx, errs atomic.Int64
	lat := make([][]float64, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				code, err := get(ctx, client, o.URL)
				if ctx.Err() != nil {
					return // cut off by the end of the run, not an answer
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				lat[i] = append(lat[i], float64(time.Since(t0))/1e6)
				if code < 200 || code > 399 {
					non2xx.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return Result{}, fmt.Errorf("load %s: no request answered (%d errors)", o.URL, errs.Load())
	}
	slices.Sort(all)
	return Result{
		Requests: int64(len(all)), Seconds: secs, RPS: float64(len(all)) / secs,
		P50ms: stats.PercentileSorted(all, 50), P90ms: stats.PercentileSorted(all, 90),
		P99ms: stats.PercentileSorted(all, 99), MaxMs: all[len(all)-1],
		Non2xx: non2xx.Load(), Errors: errs.Load(),
	}, nil
}

func get(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
