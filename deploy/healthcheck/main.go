// Command healthcheck is the image's HEALTHCHECK: the image is FROM scratch,
// with no shell or curl, so this static binary asks the node's
// /health/live and exits 0 on a 200, 1 otherwise.
//
//	healthcheck [URL]   (default http://127.0.0.1:8081/health/live)
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// DefaultURL is the node's liveness endpoint at the image's --http.
const DefaultURL = "http://127.0.0.1:8081/health/live"

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	url := DefaultURL
	if len(args) > 1 {
		fmt.Fprintln(stderr, "usage: healthcheck [URL]")
		return 2
	}
	if len(args) == 1 {
		url = args[0]
	}
	// Under Docker's own --timeout, so a hung node is reported as this
	// failure rather than killed healthcheck.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s: %s %s\n", url, resp.Status, body)
		return 1
	}
	return 0
}
