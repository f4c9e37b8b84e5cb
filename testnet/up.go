package testnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// UpOptions say what up starts.
type UpOptions struct {
	Dir  string
	N    int
	Mode Mode
	// NodeBin is the meshhealth binary; up builds nothing.
	NodeBin string
	// Subnet is netns mode's /24; empty means the first /24 of
	// 198.18.0.0/15 that no interface on the host uses.
	Subnet string
	// NodeArgs are added to every node's command line after the testnet's
	// own flags, so they win.
	NodeArgs []string
	// ReadyTimeout bounds the wait for every node to be ready; the nodes
	// keep running if it passes.
	ReadyTimeout time.Duration
	// Progress, when set, is called while up waits.
	Progress func(p Progress)
	// Prometheus starts a Prometheus server on the targets file with the
	// alert rules in PrometheusRules (default DefaultPrometheusRules).
	Prometheus      bool
	PrometheusRules string
	// AllowList starts the mesh with an allow-list naming every node but
	// the outsiders (meshhealth keys id writes it; the members read it
	// with --allow-list). Outsiders are the last Outsiders nodes: valid
	// identities, not on the list, started with OutsiderArgs after
	// NodeArgs. Outsiders imply AllowList.
	AllowList    bool
	Outsiders    int
	OutsiderArgs []string
}

// Progress is how far the wait for readiness has come.
type Progress struct {
	Ready, Total int
	Elapsed      time.Duration
	Nodes        []NodeStatus
}

// P2PPort and HTTPPort are each node's ports in netns mode, where every
// node has its own address.
const (
	NetnsP2PPort  = 4001
	NetnsHTTPPort = 8081
)

// peerIDWait bounds the wait for a starting node to publish its peer ID.
const peerIDWait = 60 * time.Second

// ErrNotReady means up started every node but not all were ready before
// the timeout. The nodes keep running.
var ErrNotReady = errors.New("not every node was ready")

// Up starts the testnet and waits for it to be ready. On an error other
// than ErrNotReady nothing it started is left running.
func Up(ctx context.Context, o UpOptions, opts Options) (*Testnet, error) {
	opts = opts.withDefaults()
	if o.N < 1 || o.N > maxNodes {
		return nil, fmt.Errorf("-n %d: want 1 to %d nodes", o.N, maxNodes)
	}
	if o.Outsiders < 0 || o.Outsiders >= o.N {
		return nil, fmt.Errorf("--outsiders %d: want 0 to %d (node0 is always a member)", o.Outsiders, o.N-1)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("testnet dir %q: %w", o.Dir, err)
	}
	if st, err := LoadState(dir); err == nil {
		return nil, fmt.Errorf("a %d-node testnet is already recorded in %s; run down --dir %s first", len(st.Nodes), dir, dir)
	}
	bin, err := resolveBin(o.NodeBin)
	if err != nil {
		return nil, err
	}
	if o.Mode == ModeNetns {
		if err := checkNetnsPrereqs(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("testnet dir: %w", err)
	}
	names, err := NamesFor(dir)
	if err != nil {
		return nil, err
	}
	st := &State{
		Dir: dir, Mode: o.Mode, Prefix: names.Prefix, NodeBin: bin,
		NodeArgs: o.NodeArgs, CreatedAt: time.Now().UTC(),
	}
	t := &Testnet{dir: dir, log: opts.Log, ip: opts.IP}
	// Saved before anything is created, so down can clean up after an up
	// that dies half way.
	if err := st.Save(); err != nil {
		return nil, err
	}
	fail := func(err error) (*Testnet, error) {
		t.log.Error("up failed; stopping what it started", "err", err)
		if derr := Down(context.WithoutCancel(ctx), dir, DownOptions{Grace: 5 * time.Second}, opts); derr != nil {
			err = errors.Join(err, fmt.Errorf("cleanup: %w", derr))
		}
		return nil, err
	}
	if err := t.plan(ctx, st, o); err != nil {
		return fail(err)
	}
	if err := st.Save(); err != nil {
		return fail(err)
	}
	if err := t.startAll(ctx, st); err != nil {
		return fail(err)
	}
	if err := writeTargets(st); err != nil {
		return fail(err)
	}
	if o.Prometheus {
		p, err := startPrometheus(ctx, st, o.PrometheusRules)
		if p != nil {
			st.Prometheus = p
			if serr := st.Save(); serr != nil {
				err = errors.Join(err, serr)
			}
		}
		if err != nil {
			return fail(err)
		}
	}
	readyIn, err := t.waitReady(ctx, st, o.ReadyTimeout, o.Progress)
	if err != nil && !errors.Is(err, ErrNotReady) {
		return fail(err)
	}
	st.ReadySeconds = readyIn.Seconds()
	if serr := st.Save(); serr != nil {
		return fail(serr)
	}
	if werr := writeTargets(st); werr != nil {
		return fail(werr)
	}
	return t, err
}

func resolveBin(bin string) (string, error) {
	if bin == "" {
		bin = "bin/meshhealth"
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", fmt.Errorf("node binary %q: %w", bin, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("node binary: %w (build it with make build, or pass --node-bin)", err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("node binary %s is not an executable file", abs)
	}
	return abs, nil
}

// plan fills in every node's addresses, ports and command line, and in
// netns mode builds the bridge and the namespaces.
func (t *Testnet) plan(ctx context.Context, st *State, o UpOptions) error {
	var ports []nodePorts
	var ns netns
	switch o.Mode {
	case ModeLocal:
		var err error
		if ports, err = freePorts(o.N); err != nil {
			return err
		}
	case ModeNetns:
		// Choosing a free subnet and putting it on the bridge is one step
		// for every testnet on the machine, so two ups at once cannot pick
		// the same /24.
		unlock, err := lockFile(filepath.Join(os.TempDir(), ".meshhealth-testnet-netns.lock"))
		if err != nil {
			return err
		}
		defer unlock()
		plan, err := chooseSubnet(ctx, t.ip, o.Subnet)
		if err != nil {
			return err
		}
		st.Subnet = plan.Prefix.String()
		ns = netns{ip: t.ip, names: Names{Prefix: st.Prefix}, plan: plan}
		// Leftovers of an earlier run in the same directory would make
		// every create below fail.
		_ = ns.teardown(ctx)
		if err := raiseNeighbourLimits(neighDir, o.N); err != nil {
			return err
		}
		if err := ns.setupBridge(ctx); err != nil {
			return err
		}
	default:
		return fmt.Errorf("mode %q: want local or netns", o.Mode)
	}
	for i := 0; i < o.N; i++ {
		n := NodeState{Index: i, Name: fmt.Sprintf("node%d", i), DataDir: filepath.Join(st.Dir, fmt.Sprintf("node%d", i))}
		n.Log = filepath.Join(n.DataDir, "node.log")
		if err := os.MkdirAll(n.DataDir, 0o700); err != nil {
			return fmt.Errorf("node%d data dir: %w", i, err)
		}
		var httpPort int
		if o.Mode == ModeNetns {
			if err := ns.setupNode(ctx, i); err != nil {
				return err
			}
			n.Namespace, n.HostVeth = ns.names.Namespace(i), ns.names.HostVeth(i)
			n.IP, n.P2PPort, httpPort = ns.plan.Node(i).String(), NetnsP2PPort, NetnsHTTPPort
		} else {
			n.IP, n.P2PPort, httpPort = "127.0.0.1", ports[i].p2p, ports[i].http
		}
		n.HTTP = net.JoinHostPort(n.IP, strconv.Itoa(httpPort))
		n.Listen = []string{
			fmt.Sprintf("/ip4/%s/tcp/%d", n.IP, n.P2PPort),
			fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", n.IP, n.P2PPort),
		}
		n.Outsider = i >= o.N-o.Outsiders
		st.Nodes = append(st.Nodes, n)
	}
	if o.AllowList || o.Outsiders > 0 {
		st.AllowList = filepath.Join(st.Dir, "allow-list")
		if err := writeAllowList(ctx, st); err != nil {
			return err
		}
	}
	st.OutsiderArgs = o.OutsiderArgs
	return nil
}

// nodeArgs is a node's command line. Local mode bootstraps from node 0,
// whose peer ID is known by then; netns mode finds peers by mDNS only.
func nodeArgs(st *State, n *NodeState, bootstrap string) []string {
	args := []string{"--data-dir", n.DataDir, "--http", n.HTTP, "--enable-fault-injection"}
	for _, l := range n.Listen {
		args = append(args, "--listen", l)
	}
	if st.AllowList != "" && !n.Outsider {
		args = append(args, "--allow-list", st.AllowList)
	}
	if st.Mode == ModeLocal {
		args = append(args, "--mdns=false")
		if bootstrap != "" {
			args = append(args, "--bootstrap", bootstrap)
		}
	} else {
		args = append(args, "--mdns=true")
	}
	args = append(args, st.NodeArgs...)
	if n.Outsider {
		args = append(args, st.OutsiderArgs...)
	}
	return args
}

func (t *Testnet) startAll(ctx context.Context, st *State) error {
	start := func(i int, bootstrap string) error {
		n := &st.Nodes[i]
		n.Args = nodeArgs(st, n, bootstrap)
		if err := startProcess(n, st.NodeBin); err != nil {
			return err
		}
		n.StartedAt = time.Now().UTC()
		return st.Save()
	}
	if st.Mode == ModeNetns {
		for i := range st.Nodes {
			if err := start(i, ""); err != nil {
				return err
			}
		}
		return nil
	}
	if err := start(0, ""); err != nil {
		return err
	}
	id, err := t.waitPeerID(ctx, &st.Nodes[0])
	if err != nil {
		return err
	}
	st.Nodes[0].PeerID = id
	boot := st.Nodes[0].Listen[0] + "/p2p/" + id
	for i := 1; i < len(st.Nodes); i++ {
		if err := start(i, boot); err != nil {
			return err
		}
	}
	return nil
}

// waitPeerID waits until the node's /health names its peer ID.
func (t *Testnet) waitPeerID(ctx context.Context, n *NodeState) (string, error) {
	deadline := time.Now().Add(peerIDWait)
	for {
		s := t.obs.observe(ctx, n, Scrape{})
		if s.Status == StatusExited {
			return "", nodeDied(n, s)
		}
		if s.PeerID != "" {
			return s.PeerID, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s did not report its peer ID (node_id in /health at %s) within %v: %s", n.Name, n.HTTP, peerIDWait, s.Error)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return "", err
		}
	}
}

func nodeDied(n *NodeState, s NodeStatus) error {
	tail, _ := readTail(n.Log, n.LogOffset, 2048)
	return fmt.Errorf("%s exited during start (%s); end of %s:\n%s", n.Name, s.Message, n.Log, strings.TrimSpace(string(tail)))
}

// waitReady polls until every node is ready, recording peer IDs as they
// appear. It returns how long that took.
func (t *Testnet) waitReady(ctx context.Context, st *State, timeout time.Duration, progress func(Progress)) (time.Duration, error) {
	begin := time.Now()
	// Node 0 started before the others: count from the first start.
	if len(st.Nodes) > 0 && !st.Nodes[0].StartedAt.IsZero() {
		begin = st.Nodes[0].StartedAt
	}
	deadline := time.Now().Add(timeout)
	for {
		obs := t.obs.observeAll(ctx, st, Scrape{})
		ready, want := 0, 0
		for i, s := range obs {
			if s.Status == StatusExited {
				return 0, nodeDied(&st.Nodes[i], s)
			}
			if st.Nodes[i].PeerID == "" && s.PeerID != "" {
				st.Nodes[i].PeerID = s.PeerID
			}
			if st.Nodes[i].Outsider {
				continue // refused by design: never ready
			}
			want++
			if s.Ready() {
				ready++
			}
		}
		elapsed := time.Since(begin)
		if progress != nil {
			progress(Progress{Ready: ready, Total: len(obs), Elapsed: elapsed, Nodes: obs})
		}
		if ready == want {
			return elapsed, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%w within %v: %d of %d members ready", ErrNotReady, timeout, ready, want)
		}
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

type nodePorts struct{ p2p, http int }

// freePorts asks the kernel for ports nobody uses: for libp2p one number
// free on both TCP and UDP (TCP and QUIC share it), and one TCP port for
// HTTP. Every listener is held until all are chosen, so no two nodes get
// the same port.
func freePorts(n int) ([]nodePorts, error) {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	tcp := func() (int, error) {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		closers = append(closers, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	out := make([]nodePorts, n)
	for i := range out {
		for attempt := 0; ; attempt++ {
			p, err := tcp()
			if err != nil {
				return nil, err
			}
			u, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err == nil {
				closers = append(closers, u)
				out[i].p2p = p
				break
			}
			if attempt > 50 {
				return nil, fmt.Errorf("find a port free on TCP and UDP: %w", err)
			}
		}
		p, err := tcp()
		if err != nil {
			return nil, err
		}
		out[i].http = p
	}
	return out, nil
}
