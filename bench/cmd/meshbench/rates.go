package main

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/procfs"
	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/testnet"
)

// Counters the traffic rates are built from. receivedMetric is the node's
// count of pubsub messages received (first receipts, by topic); a build
// before it exports none, and the rates say so.
const (
	probePublishedMetric = "meshhealth_pubsub_probe_messages_published_total"
	receivedMetric       = "meshhealth_pubsub_messages_received_total"
)

type nodeCounters struct {
	ok             bool
	probePublished float64
	received       float64
	haveReceived   bool
	net            procfs.NetCounters
	haveNet        bool
}

// readCounters reads every node's /metrics (over the bridge in netns mode:
// no node is partitioned here) and, in netns mode, the receive counters of
// its namespace.
func readCounters(ctx context.Context, st *testnet.State) []nodeCounters {
	out := make([]nodeCounters, len(st.Nodes))
	c := &http.Client{Timeout: 3 * time.Second}
	for i, n := range st.Nodes {
		if text, err := getText(ctx, c, "http://"+n.HTTP+"/metrics"); err == nil {
			out[i].ok = true
			out[i].probePublished, _ = testnet.MetricSum(text, probePublishedMetric)
			out[i].received, out[i].haveReceived = testnet.MetricSum(text, receivedMetric)
		}
		if n.Namespace != "" {
			if nc, err := procfs.NetDev(n.PID); err == nil {
				out[i].net, out[i].haveNet = nc, true
			}
		}
	}
	return out
}

func getText(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return string(b), err
}

// rates turns two readings into per-minute rates per node. GossipSub
// delivers each message once to every subscriber, so what a node takes in
// on the probe topic is what all the others published on it.
func rates(st *testnet.State, before, after []nodeCounters, secs float64) []results.NodeRates {
	if secs <= 0 {
		return nil
	}
	perMin := func(d float64) float64 { return d * 60 / secs }
	published := make([]float64, len(st.Nodes))
	total := 0.0
	for i := range st.Nodes {
		if before[i].ok && after[i].ok {
			published[i] = after[i].probePublished - before[i].probePublished
			total += published[i]
		}
	}
	out := make([]results.NodeRates, len(st.Nodes))
	for i, n := range st.Nodes {
		r := results.NodeRates{Node: n.Name, ProbePublished: perMin(published[i]), ProbeTopicIn: perMin(total - published[i])}
		if before[i].haveReceived && after[i].haveReceived {
			v := perMin(after[i].received - before[i].received)
			r.Received = &v
		}
		if before[i].haveNet && after[i].haveNet {
			r.RxPackets = perMin(float64(after[i].net.RxPackets - before[i].net.RxPackets))
			r.RxBytes = perMin(float64(after[i].net.RxBytes - before[i].net.RxBytes))
		}
		out[i] = r
	}
	return out
}
