package opchecks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/pkg/health"
)

// maxBody is how much of a response is read for BodyContains: a health
// endpoint's answer, not a download.
const maxBody = 64 << 10

// httpChecker GETs (or HEADs) the URL: it passes on a status in [lo, hi]
// and a body containing want.
func httpChecker(s Spec) (health.Checker, error) {
	lo, hi, err := parseStatus(s.Status)
	if err != nil {
		return nil, err
	}
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	client := &http.Client{Transport: &http.Transport{
		// Each run opens its own connection, as the service's clients
		// would after a restart, and leaves none idle behind it.
		DisableKeepAlives: true,
		// A local endpoint is not reached through the environment's proxy.
		Proxy:               nil,
		DialContext:         (&net.Dialer{}).DialContext,
		TLSHandshakeTimeout: 0,                                                // the run's context bounds it
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: s.TLSSkipVerify}, //nolint:gosec // the operator's choice, per check
	}}
	url, want := s.URL, s.BodyContains
	return func(ctx context.Context) health.Result {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, method, url, nil)
		if err != nil {
			return health.Result{Message: err.Error(), Err: err}
		}
		req.Header.Set("User-Agent", "meshhealth-check")
		resp, err := client.Do(req)
		if err != nil {
			// The client's error repeats the method and URL the message
			// starts with.
			cause := err
			var ue *neturl.Error
			if errors.As(err, &ue) {
				cause = ue.Err
			}
			return health.Result{Message: fmt.Sprintf("%s %s: %v", method, url, cause), Err: err, Latency: time.Since(start)}
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		lat := time.Since(start)
		details := map[string]any{"status_code": resp.StatusCode}
		switch {
		case resp.StatusCode < lo || resp.StatusCode > hi:
			return health.Result{Message: fmt.Sprintf("%s %s: %s, want %s", method, url, resp.Status, statusRange(lo, hi)),
				Details: details, Latency: lat}
		case want != "" && err != nil:
			return health.Result{Message: fmt.Sprintf("%s %s: reading the body: %v", method, url, err), Err: err, Details: details, Latency: lat}
		case want != "" && !strings.Contains(string(body), want):
			return health.Result{Message: fmt.Sprintf("%s %s: %s, but the body lacks %q", method, url, resp.Status, want),
				Details: details, Latency: lat}
		}
		return health.Result{Healthy: true, Message: fmt.Sprintf("%s %s: %s", method, url, resp.Status), Details: details, Latency: lat}
	}, nil
}

func statusRange(lo, hi int) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}
