package check

import (
	"strings"
	"testing"
)

// The base and the 100-node overlay render, decode strictly and agree with
// the node's own flags.
func TestKubernetesBasesRenderStrictAndMatchTheNode(t *testing.T) {
	for _, dir := range []string{"../k8s/base", "../k8s/mesh-100"} {
		t.Run(dir, func(t *testing.T) {
			o := rendered(t, dir)
			probes, err := o.Verify()
			if err != nil {
				t.Fatal(err)
			}
			if len(probes) != 4 {
				t.Errorf("probes %v: want startup, readiness, liveness and the PodMonitor", probes)
			}
			if dir == "../k8s/mesh-100" && *o.StatefulSets[0].Spec.Replicas != 100 {
				t.Errorf("mesh-100: %d replicas", *o.StatefulSets[0].Spec.Replicas)
			}
		})
	}
}

// The decoder is strict: a misspelt field is an error, not silently
// dropped as kubectl apply without --validate would.
func TestDecodeRejectsUnknownFields(t *testing.T) {
	for name, doc := range map[string]string{
		"StatefulSet": "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec: {podManagmentPolicy: Parallel}\n",
		"PodMonitor":  "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: x}\nspec: {podMetricEndpoints: []}\n",
		"kind":        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
	} {
		if _, err := Decode([][]byte{[]byte(doc)}); err == nil {
			t.Errorf("%s: decoded %q without error", name, doc)
		}
	}
}

// Verify catches the mistakes it is there for.
func TestVerifyCatchesMismatches(t *testing.T) {
	docs, err := Render("../k8s/base")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"loopback http", "--http=0.0.0.0:8081", "--http=127.0.0.1:8081", "loopback"},
		{"port mismatch", "--http=0.0.0.0:8081", "--http=0.0.0.0:9090", "does not match --http"},
		{"liveness on ready", "path: /health/live", "path: /health/ready", "livenessProbe"},
		{"mdns on", "--mdns=false", "--mdns=true", "mDNS is on"},
		{"not parallel", "podManagementPolicy: Parallel", "podManagementPolicy: OrderedReady", "Parallel"},
		{"not published", "publishNotReadyAddresses: true", "publishNotReadyAddresses: false", "publishNotReadyAddresses"},
		{"quic port", "/udp/4001/quic-v1", "/udp/4002/quic-v1", "p2p-quic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var changed [][]byte
			hit := false
			for _, d := range docs {
				s := string(d)
				if strings.Contains(s, tc.old) {
					s, hit = strings.Replace(s, tc.old, tc.new, 1), true
				}
				changed = append(changed, []byte(s))
			}
			if !hit {
				t.Fatalf("%q not in the rendered base", tc.old)
			}
			o, err := Decode(changed)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := o.Verify(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify: %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// rendered is dir's kustomize output, decoded strictly.
func rendered(t *testing.T, dir string) *Objects {
	t.Helper()
	docs, err := Render(dir)
	if err != nil {
		t.Fatal(err)
	}
	o, err := Decode(docs)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
