package check

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/meshhealth/meshhealth/node"
	ma "github.com/multiformats/go-multiaddr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// PodMonitor is the part of the Prometheus Operator's monitoring.coreos.com/v1
// PodMonitor the base uses. The operator's Go types are not a dependency
// here; decoding strictly into this struct still turns a misspelt or
// unexpected field into an error, so a new field must be added here on
// purpose, after checking the operator's CRD.
type PodMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector            metav1.LabelSelector `json:"selector"`
		PodMetricsEndpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// Objects is a rendered base, each object decoded into its API type.
type Objects struct {
	StatefulSets []appsv1.StatefulSet
	Services     []corev1.Service
	PDBs         []policyv1.PodDisruptionBudget
	PodMonitors  []PodMonitor
}

// Render builds the kustomization in dir as `kustomize build` does.
func Render(dir string) ([][]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var docs [][]byte
	for _, r := range m.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, r.CurId(), err)
		}
		docs = append(docs, b)
	}
	return docs, nil
}

// Decode decodes each document strictly into the type its apiVersion and
// kind name: an unknown field, a duplicate field or an unexpected kind is
// an error.
func Decode(docs [][]byte) (*Objects, error) {
	var o Objects
	var errs []error
	for _, d := range docs {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(d, &tm); err != nil {
			errs = append(errs, err)
			continue
		}
		gvk := tm.APIVersion + " " + tm.Kind
		var err error
		switch gvk {
		case "apps/v1 StatefulSet":
			var x appsv1.StatefulSet
			if err = yaml.UnmarshalStrict(d, &x); err == nil {
				o.StatefulSets = append(o.StatefulSets, x)
			}
		case "v1 Service":
			var x corev1.Service
			if err = yaml.UnmarshalStrict(d, &x); err == nil {
				o.Services = append(o.Services, x)
			}
		case "policy/v1 PodDisruptionBudget":
			var x policyv1.PodDisruptionBudget
			if err = yaml.UnmarshalStrict(d, &x); err == nil {
				o.PDBs = append(o.PDBs, x)
			}
		case "monitoring.coreos.com/v1 PodMonitor":
			var x PodMonitor
			if err = yaml.UnmarshalStrict(d, &x); err == nil {
				o.PodMonitors = append(o.PodMonitors, x)
			}
		default:
			err = errors.New("a kind this check does not know; add it to Decode")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", gvk, err))
		}
	}
	return &o, errors.Join(errs...)
}

// Probe is an HTTP path the kubelet or Prometheus will request.
type Probe struct {
	What string // "readinessProbe", "PodMonitor", ...
	Path string
}

// Verify checks the rendered objects against each other and against the
// node's own configuration parser: the container's args and env are parsed
// by node.Parse, so ports and paths are compared with what the node will
// really do. It returns the HTTP paths requested of the node, for a live
// node to answer.
func (o *Objects) Verify() ([]Probe, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(o.StatefulSets) != 1 || len(o.Services) != 1 || len(o.PDBs) != 1 || len(o.PodMonitors) != 1 {
		return nil, fmt.Errorf("want one StatefulSet, Service, PodDisruptionBudget and PodMonitor; have %d, %d, %d, %d",
			len(o.StatefulSets), len(o.Services), len(o.PDBs), len(o.PodMonitors))
	}
	sts, svc, pdb, pm := &o.StatefulSets[0], &o.Services[0], &o.PDBs[0], &o.PodMonitors[0]
	podLabels := labels.Set(sts.Spec.Template.Labels)

	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		bad("StatefulSet: podManagementPolicy %q, want Parallel (pod 0 is never ready alone)", sts.Spec.PodManagementPolicy)
	}
	if sts.Spec.ServiceName != svc.Name {
		bad("StatefulSet: serviceName %q, want the headless Service %q (pod DNS names)", sts.Spec.ServiceName, svc.Name)
	}
	matches := func(what string, sel *metav1.LabelSelector) {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil || s.Empty() || !s.Matches(podLabels) {
			bad("%s: selector %v does not select the pods (labels %v)", what, sel, podLabels)
		}
	}
	matches("StatefulSet", sts.Spec.Selector)
	matches("PodDisruptionBudget", pdb.Spec.Selector)
	matches("PodMonitor", &pm.Spec.Selector)
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		bad("Service: selector %v does not select the pods (labels %v)", svc.Spec.Selector, podLabels)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		bad("Service: clusterIP %q, want None (headless)", svc.Spec.ClusterIP)
	}
	if !svc.Spec.PublishNotReadyAddresses {
		bad("Service: publishNotReadyAddresses false: a pod not yet ready (every pod at first) would have no DNS name to bootstrap from")
	}

	i := slices.IndexFunc(sts.Spec.Template.Spec.Containers, func(c corev1.Container) bool { return c.Name == "meshhealth" })
	if i < 0 {
		return nil, errors.Join(append(errs, errors.New("StatefulSet: no container named meshhealth"))...)
	}
	c := &sts.Spec.Template.Spec.Containers[i]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	cfg, action, err := node.Parse(append(slices.Clone(c.Command[min(len(c.Command), 1):]), c.Args...), func(k string) string { return env[k] }, nil)
	if err != nil || action != node.ActionRun {
		return nil, errors.Join(append(errs, fmt.Errorf("container args %q: the node would not run: %v", c.Args, err))...)
	}
	if err := cfg.Validate(); err != nil {
		bad("container args %q: the node refuses them: %v", c.Args, err)
	}
	if cfg.P2P.MDNS {
		bad("container: mDNS is on; pass --mdns=false (multicast does not cross Kubernetes nodes)")
	}

	ports := map[string]corev1.ContainerPort{}
	for _, p := range c.Ports {
		ports[p.Name] = p
	}
	port := func(what string, v intstr.IntOrString) (corev1.ContainerPort, bool) {
		if v.Type == intstr.String {
			p, ok := ports[v.StrVal]
			if !ok {
				bad("%s: port %q is not a container port", what, v.StrVal)
			}
			return p, ok
		}
		for _, p := range c.Ports {
			if p.ContainerPort == v.IntVal {
				return p, true
			}
		}
		bad("%s: port %d is not a container port", what, v.IntVal)
		return corev1.ContainerPort{}, false
	}

	host, hp, err := net.SplitHostPort(cfg.HTTP)
	if err != nil {
		bad("--http %q: %v", cfg.HTTP, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		bad("--http %q is loopback: the kubelet's probes and Prometheus cannot reach it", cfg.HTTP)
	}
	httpPort, _ := strconv.Atoi(hp)
	if p, ok := ports["http"]; !ok || int(p.ContainerPort) != httpPort || p.Protocol != corev1.ProtocolTCP {
		bad("container port http %+v does not match --http %s", p, cfg.HTTP)
	}
	for _, l := range cfg.P2P.Listen {
		proto, lp, err := listenPort(l)
		if err != nil {
			bad("--listen %q: %v", l, err)
			continue
		}
		name := map[corev1.Protocol]string{corev1.ProtocolTCP: "p2p", corev1.ProtocolUDP: "p2p-quic"}[proto]
		if p, ok := ports[name]; !ok || p.ContainerPort != int32(lp) || p.Protocol != proto {
			bad("container port %s %+v does not match --listen %s", name, p, l)
		}
	}

	var paths []Probe
	probe := func(what string, p *corev1.Probe, want string) {
		if p == nil || p.HTTPGet == nil {
			bad("container: no HTTP %s", what)
			return
		}
		if p.HTTPGet.Path != want {
			bad("container: %s on %q, want %s", what, p.HTTPGet.Path, want)
		}
		if cp, ok := port(what, p.HTTPGet.Port); ok && int(cp.ContainerPort) != httpPort {
			bad("container: %s on port %d, the node serves HTTP on %d", what, cp.ContainerPort, httpPort)
		}
		paths = append(paths, Probe{What: what, Path: p.HTTPGet.Path})
	}
	probe("startupProbe", c.StartupProbe, "/health/ready")
	probe("readinessProbe", c.ReadinessProbe, "/health/ready")
	// Liveness must never depend on peers: only /health/live ignores the checks.
	probe("livenessProbe", c.LivenessProbe, "/health/live")

	for _, sp := range svc.Spec.Ports {
		if cp, ok := port("Service port "+sp.Name, sp.TargetPort); ok && cp.Protocol != sp.Protocol {
			bad("Service port %s: protocol %s, container port %s is %s", sp.Name, sp.Protocol, cp.Name, cp.Protocol)
		}
	}
	if len(pm.Spec.PodMetricsEndpoints) == 0 {
		bad("PodMonitor: no podMetricsEndpoints")
	}
	for _, ep := range pm.Spec.PodMetricsEndpoints {
		if cp, ok := port("PodMonitor", intstr.FromString(ep.Port)); ok && int(cp.ContainerPort) != httpPort {
			bad("PodMonitor: port %s is not the node's HTTP port %d", ep.Port, httpPort)
		}
		paths = append(paths, Probe{What: "PodMonitor", Path: ep.Path})
	}

	// The data dir must be the pod's own volume (peer ID and guard history
	// survive a reschedule) with room above the resources check's floor.
	mount := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == cfg.P2P.DataDir })
	if mount < 0 {
		bad("container: nothing mounted at --data-dir %s", cfg.P2P.DataDir)
	} else {
		vct := slices.IndexFunc(sts.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == c.VolumeMounts[mount].Name })
		if vct < 0 {
			bad("container: --data-dir %s is not on a volumeClaimTemplate: the peer ID would not survive a reschedule", cfg.P2P.DataDir)
		} else if s := sts.Spec.VolumeClaimTemplates[vct].Spec.Resources.Requests[corev1.ResourceStorage]; s.CmpInt64(int64(2*cfg.Resources.MinFreeDiskBytes)) < 0 {
			bad("volumeClaimTemplate %s: %s is too close to the resources check's free-space floor (%d bytes)", c.VolumeMounts[mount].Name, s.String(), cfg.Resources.MinFreeDiskBytes)
		}
	}

	mem, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok || mem.CmpInt64(int64(cfg.Resources.MaxRSSBytes)) <= 0 {
		bad("container: memory limit %s must lie above --max-rss-bytes %d, so the resources check warns before the OOM kill", mem.String(), cfg.Resources.MaxRSSBytes)
	}
	if v, ok := env["GOMEMLIMIT"]; ok {
		q, err := resource.ParseQuantity(strings.TrimSuffix(v, "B"))
		if err != nil || q.Cmp(mem) >= 0 {
			bad("container: GOMEMLIMIT %s must be a size below the memory limit %s", v, mem.String())
		}
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			bad("container: no %s request", r)
		}
	}
	if g := sts.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || float64(*g) <= cfg.Shutdown.Timeout.Seconds() {
		bad("terminationGracePeriodSeconds must exceed --shutdown-timeout %v, or the kubelet kills the node mid-shutdown", cfg.Shutdown.Timeout)
	}
	return paths, errors.Join(errs...)
}

// listenPort reads /ip4/<ip>/tcp/<port> or /ip4/<ip>/udp/<port>/quic-v1.
func listenPort(s string) (corev1.Protocol, int, error) {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return "", 0, err
	}
	if v, err := a.ValueForProtocol(ma.P_UDP); err == nil {
		p, err := strconv.Atoi(v)
		return corev1.ProtocolUDP, p, err
	}
	if v, err := a.ValueForProtocol(ma.P_TCP); err == nil {
		p, err := strconv.Atoi(v)
		return corev1.ProtocolTCP, p, err
	}
	return "", 0, errors.New("neither tcp nor udp")
}

// VerifyNetworkPolicy checks a NetworkPolicy meant for these objects
// against their pods: it must select them (a selector on labels they do not
// carry protects nothing), admit the mesh's own pods on every libp2p port
// (or the mesh is cut), admit the HTTP port to someone (or Prometheus is
// cut), and name only ports the container has, with their protocols.
func (o *Objects) VerifyNetworkPolicy(np *networkingv1.NetworkPolicy) error {
	if len(o.StatefulSets) != 1 {
		return fmt.Errorf("want one StatefulSet, have %d", len(o.StatefulSets))
	}
	tmpl := &o.StatefulSets[0].Spec.Template
	podLabels := labels.Set(tmpl.Labels)
	i := slices.IndexFunc(tmpl.Spec.Containers, func(c corev1.Container) bool { return c.Name == "meshhealth" })
	if i < 0 {
		return errors.New("StatefulSet: no container named meshhealth")
	}
	containerPorts := tmpl.Spec.Containers[i].Ports

	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("NetworkPolicy %s: "+format, append([]any{np.Name}, a...)...))
	}
	selects := func(sel *metav1.LabelSelector) bool {
		s, err := metav1.LabelSelectorAsSelector(sel)
		return err == nil && !s.Empty() && s.Matches(podLabels)
	}
	if !selects(&np.Spec.PodSelector) {
		bad("podSelector %v does not select the pods (labels %v): it protects nothing", np.Spec.PodSelector, podLabels)
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		bad("policyTypes %v lack Ingress", np.Spec.PolicyTypes)
	}

	// admits finds the container port a policy port names.
	admits := func(pp networkingv1.NetworkPolicyPort) (corev1.ContainerPort, bool) {
		proto := corev1.ProtocolTCP
		if pp.Protocol != nil {
			proto = *pp.Protocol
		}
		for _, cp := range containerPorts {
			if cp.Protocol == "" {
				cp.Protocol = corev1.ProtocolTCP
			}
			if cp.Protocol != proto || pp.Port == nil {
				continue
			}
			if (pp.Port.Type == intstr.String && pp.Port.StrVal == cp.Name) ||
				(pp.Port.Type == intstr.Int && pp.Port.IntVal == cp.ContainerPort) {
				return cp, true
			}
		}
		return corev1.ContainerPort{}, false
	}
	fromMesh := map[string]bool{} // container ports the mesh's own pods may reach
	admitted := map[string]bool{} // container ports anyone may reach
	for n, rule := range np.Spec.Ingress {
		mesh := slices.ContainsFunc(rule.From, func(p networkingv1.NetworkPolicyPeer) bool {
			return p.PodSelector != nil && p.NamespaceSelector == nil && selects(p.PodSelector)
		})
		for _, pp := range rule.Ports {
			cp, ok := admits(pp)
			if !ok {
				bad("ingress rule %d admits port %v/%v, which the container does not have", n, pp.Port, pp.Protocol)
				continue
			}
			admitted[cp.Name] = true
			if mesh {
				fromMesh[cp.Name] = true
			}
		}
	}
	for _, name := range []string{"p2p", "p2p-quic"} {
		if !fromMesh[name] {
			bad("no ingress rule admits the mesh's pods to container port %s: the nodes could not reach each other", name)
		}
	}
	if !admitted["http"] {
		bad("no ingress rule admits container port http: Prometheus could not scrape")
	}
	return errors.Join(errs...)
}
