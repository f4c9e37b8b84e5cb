package check

import (
	"debug/elf"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshhealth/meshhealth/node"
)

// dockerfile is what the image test needs from deploy/Dockerfile.
type dockerfile struct {
	env         map[string]string
	entrypoint  []string
	healthcheck []string
	user        string
	volumes     []string
	static      bool // the build runs with CGO_ENABLED=0
}

func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := dockerfile{env: map[string]string{}}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	jsonArgs := func(s string) []string {
		var a []string
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			t.Fatalf("%s: %q is not an exec-form JSON array: %v", path, s, err)
		}
		return a
	}
	final := false
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), f[0]))
		switch strings.ToUpper(f[0]) {
		case "FROM":
			final = strings.EqualFold(f[1], "scratch")
		case "RUN":
			d.static = d.static || strings.Contains(rest, "CGO_ENABLED=0")
		}
		if !final {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "ENV":
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				d.env[k] = v
			}
		case "ENTRYPOINT":
			d.entrypoint = jsonArgs(rest)
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(rest, "CMD ")
			if !ok {
				t.Fatalf("%s: HEALTHCHECK without CMD", path)
			}
			d.healthcheck = jsonArgs(cmd)
		case "USER":
			d.user = f[1]
		case "VOLUME":
			d.volumes = append(d.volumes, f[1:]...)
		case "CMD":
			t.Fatalf("%s: CMD would be replaced by docker run's arguments; keep defaults in ENV", path)
		}
	}
	return d
}

// The image is FROM scratch: the binary must be static and need nothing
// but its data dir. Started as the image starts it (its ENV, nothing else
// in the environment, an empty working directory), it runs, answers the
// HEALTHCHECK, writes only into the data dir and stops cleanly.
func TestImageBinaryStartsFromAnEmptyDirectory(t *testing.T) {
	t.Parallel()
	d := parseDockerfile(t, "../Dockerfile")
	if !d.static {
		t.Error("Dockerfile: the build does not set CGO_ENABLED=0")
	}
	if d.user == "" || strings.HasPrefix(d.user, "0") || strings.HasPrefix(d.user, "root") {
		t.Errorf("Dockerfile: USER %q, want a non-root user", d.user)
	}
	cfg, _, err := node.Parse(nil, func(k string) string { return d.env[k] }, nil)
	if err != nil {
		t.Fatalf("Dockerfile ENV %v: %v", d.env, err)
	}
	if !slices.Contains(d.volumes, cfg.P2P.DataDir) {
		t.Errorf("Dockerfile: VOLUME %v does not hold the data dir %s", d.volumes, cfg.P2P.DataDir)
	}
	if cfg.P2P.MDNS {
		t.Error("Dockerfile: mDNS on by default")
	}
	if len(d.healthcheck) != 2 || !strings.HasSuffix(d.healthcheck[1], "/health/live") {
		t.Fatalf("Dockerfile: HEALTHCHECK %v, want [/healthcheck URL-of-/health/live]", d.healthcheck)
	}
	_, hcPort, _ := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(d.healthcheck[1], "http://"), "/health/live"))
	if _, port, _ := net.SplitHostPort(cfg.HTTP); port != hcPort {
		t.Errorf("Dockerfile: HEALTHCHECK asks port %s, the node serves %s", hcPort, cfg.HTTP)
	}

	f, err := elf.Open(bins.node)
	if err != nil {
		t.Fatal(err)
	}
	libs, _ := f.ImportedLibraries()
	interp := slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
	f.Close()
	if interp || len(libs) > 0 {
		t.Fatalf("the node binary is dynamically linked (interpreter %v, libraries %v): it cannot run FROM scratch", interp, libs)
	}

	// The image's root, with only the data dir, as the image has it. Paths
	// and the listen addresses move to the test's own (loopback, free).
	root := t.TempDir()
	dataDir := filepath.Join(root, strings.TrimPrefix(cfg.P2P.DataDir, "/"))
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	for k, v := range d.env {
		if k == "MESHHEALTH_DATA_DIR" {
			v = dataDir
		}
		env = append(env, k+"="+v)
	}
	n := startNode(t, root, env, []string{"--min-peers", "0"})
	n.waitReady(t)

	if out, err := exec.Command(bins.healthcheck, "http://"+n.http+"/health/live").CombinedOutput(); err != nil {
		t.Errorf("HEALTHCHECK against the running node: %v %s", err, out)
	}
	if err := n.stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bins.healthcheck, "http://"+n.http+"/health/live").CombinedOutput(); err == nil {
		t.Errorf("HEALTHCHECK passed with the node stopped: %s", out)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 || entries[0].Name() != filepath.Base(dataDir) {
		t.Errorf("the node wrote outside its data dir: %v", entries)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "identity.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("identity.key in the data dir: %v %v", fi, err)
	}
	if len(d.entrypoint) != 1 || d.entrypoint[0] != "/meshhealth" {
		t.Errorf("ENTRYPOINT %v", d.entrypoint)
	}
}
