package check

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// fence is a fenced yaml block, indented as a list item's may be.
var fence = regexp.MustCompile("(?ms)^([ \t]*)```yaml\n(.*?)^[ \t]*```")

// docNetworkPolicy is the NetworkPolicy docs/SECURITY.md shows, decoded
// strictly, as an operator would copy it.
func docNetworkPolicy(t *testing.T) *networkingv1.NetworkPolicy {
	t.Helper()
	doc, err := os.ReadFile("../../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	var found [][]byte
	for _, m := range fence.FindAllSubmatch(doc, -1) {
		indent := string(m[1])
		var b bytes.Buffer
		for _, line := range strings.SplitAfter(string(m[2]), "\n") {
			b.WriteString(strings.TrimPrefix(line, indent))
		}
		var tm metav1.TypeMeta
		if yaml.Unmarshal(b.Bytes(), &tm) == nil && tm.Kind == "NetworkPolicy" {
			found = append(found, b.Bytes())
		}
	}
	if len(found) != 1 {
		t.Fatalf("docs/SECURITY.md shows %d NetworkPolicy blocks, want 1", len(found))
	}
	var np networkingv1.NetworkPolicy
	if err := yaml.UnmarshalStrict(found[0], &np); err != nil {
		t.Fatalf("docs/SECURITY.md's NetworkPolicy does not decode strictly: %v\n%s", err, found[0])
	}
	if np.APIVersion != "networking.k8s.io/v1" {
		t.Errorf("apiVersion %q, want networking.k8s.io/v1", np.APIVersion)
	}
	return &np
}

// The NetworkPolicy in docs/SECURITY.md, copied as written, must protect
// the pods deploy/k8s makes and let the mesh and Prometheus through: it
// once selected app: meshhealth, a label no pod carries.
func TestSecurityDocNetworkPolicyFitsThePods(t *testing.T) {
	np := docNetworkPolicy(t)
	for _, dir := range []string{"../k8s/base", "../k8s/mesh-100"} {
		t.Run(dir, func(t *testing.T) {
			o := rendered(t, dir)
			if err := o.VerifyNetworkPolicy(np); err != nil {
				t.Error(err)
			}
		})
	}
}

// The check catches what it is for: a selector on a label the pods lack, a
// port the container does not have, and a mesh rule missing a libp2p port.
func TestVerifyNetworkPolicyCatchesDrift(t *testing.T) {
	o := rendered(t, "../k8s/base")
	for name, tc := range map[string]struct {
		break_ func(*networkingv1.NetworkPolicy)
		want   string
	}{
		"old label": {func(np *networkingv1.NetworkPolicy) {
			np.Spec.PodSelector.MatchLabels = map[string]string{"app": "meshhealth"}
		}, "protects nothing"},
		"mesh selector": {func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].From[0].PodSelector.MatchLabels = map[string]string{"app": "meshhealth"}
		}, "could not reach each other"},
		"wrong port": {func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[1].Ports[0].Port.IntVal = 9090
		}, "does not have"},
		"no quic": {func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].Ports = np.Spec.Ingress[0].Ports[:1]
		}, "p2p-quic"},
	} {
		t.Run(name, func(t *testing.T) {
			np := docNetworkPolicy(t)
			tc.break_(np)
			err := o.VerifyNetworkPolicy(np)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
