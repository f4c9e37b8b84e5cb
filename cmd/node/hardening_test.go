package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

// postFault sends body to the node's /debug/fault with the token from its
// data dir, as the testnet does.
func postFault(t *testing.T, p *proc, body string) (int, string) {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(p.dataDir, "fault-token"))
	if err != nil {
		t.Fatalf("fault token: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.http+"/debug/fault", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// runOnce runs the binary to its exit and returns its exit code and stderr.
func runOnce(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("%v still running after a minute; stderr:\n%s", args, stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stderr.String()
	}
	return 0, stderr.String()
}

// stoppedLine is the one error line a node that fails at start writes.
func stoppedLine(t *testing.T, stderr string) string {
	t.Helper()
	var errs []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=error") {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], `msg="node stopped" exit_code=1`) {
		t.Fatalf("want exactly one error line, the node stopped line; got:\n%s", stderr)
	}
	return errs[0]
}

func waitReady(t *testing.T, p *proc) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, p.http+" answers", func() (bool, string) {
		code, _, err := get("http://" + p.http + "/health/live")
		return err == nil && code == 200, fmt.Sprint(code, err)
	})
}

func TestUsedLibp2pPortFailsAtStartWithOneLine(t *testing.T) {
	a := startNode(t, "--min-peers", "0")
	waitReady(t, a)
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			listen := fmt.Sprintf("/ip4/127.0.0.1/%s/%d", proto, a.p2p)
			if proto == "udp" {
				listen += "/quic-v1"
			}
			code, stderr := runOnce(t, "--data-dir", t.TempDir(), "--mdns=false", "--min-peers", "0",
				"--http", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--listen", listen)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
			}
			line := stoppedLine(t, stderr)
			if !strings.Contains(line, fmt.Sprintf("127.0.0.1:%d", a.p2p)) || !strings.Contains(line, "address already in use") {
				t.Errorf("the line does not say which address is in use: %s", line)
			}
		})
	}
	// The first node kept its port: it still answers.
	if code, _, err := get("http://" + a.http + "/health/live"); err != nil || code != 200 {
		t.Fatalf("first node after the second failed: %d %v", code, err)
	}
}

func TestSecondNodeOnADataDirFailsNamingTheFirst(t *testing.T) {
	a := startNode(t, "--min-peers", "0")
	waitReady(t, a)
	code, stderr := runOnce(t, "--data-dir", a.dataDir, "--mdns=false", "--min-peers", "0",
		"--http", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)))
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	line := stoppedLine(t, stderr)
	if want := fmt.Sprintf("in use by another meshhealth (pid %d)", a.cmd.Process.Pid); !strings.Contains(line, want) {
		t.Errorf("line %q does not name the holder (%s)", line, want)
	}
}

func TestUnreadableIdentityKeyIsOneLine(t *testing.T) {
	dir := t.TempDir()
	// A directory where the key file should be: unreadable even as root.
	if err := os.Mkdir(filepath.Join(dir, "identity.key"), 0o700); err != nil {
		t.Fatal(err)
	}
	code, stderr := runOnce(t, "--data-dir", dir, "--mdns=false", "--min-peers", "0",
		"--http", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)))
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	line := stoppedLine(t, stderr)
	if !strings.Contains(line, "identity.key") || len(line) > 400 || strings.Contains(line, "could not build") {
		t.Errorf("want a short line naming the key file, got: %s", line)
	}
}

func TestSIGHUPStopsGracefully(t *testing.T) {
	a := startNode(t, "--min-peers", "0")
	waitReady(t, a)
	a.cmd.Process.Signal(syscall.SIGHUP)
	if code := a.exitCode(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGHUP, want 0", code)
	}
	if log := a.log.String(); !strings.Contains(log, `msg="node stopped" exit_code=0 reason="signal: SIGHUP"`) {
		t.Fatalf("no graceful stop logged:\n%s", log)
	}
}

func TestSIGTERMWhileStartingIsGracefulAndLogged(t *testing.T) {
	// The first line a node logs comes while it is still building its
	// parts; a SIGTERM then must not kill it unlogged (exit 143).
	a := startNode(t, "--min-peers", "0", "--log-level", "debug")
	testkit.Eventually(t, 20*time.Second, "first log line", func() (bool, string) {
		return a.log.String() != "", ""
	})
	a.cmd.Process.Signal(syscall.SIGTERM)
	if code := a.exitCode(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d after an early SIGTERM, want 0; log:\n%s", code, a.log.String())
	}
	if log := a.log.String(); !strings.Contains(log, `msg="node stopped" exit_code=0 reason="signal: SIGTERM"`) {
		t.Fatalf("no graceful stop logged:\n%s", log)
	}
}

func TestBadFlagValueIsOneLineAndTheConfigCode(t *testing.T) {
	for _, args := range [][]string{
		{"--weight-pubsub", "NaN"},
		{"--min-peers", "several"},
		{"--healthy-threshold", "1"},
	} {
		code, stderr := runOnce(t, args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 78 || len(lines) != 1 || !strings.HasPrefix(lines[0], "meshhealth: config: ") {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant 78 and one config line", args, code, stderr)
		}
	}
}

func TestFaultEndpointNeedsTheTokenFromTheDataDir(t *testing.T) {
	a := startNode(t, "--min-peers", "0", "--enable-fault-injection")
	waitReady(t, a)
	url := "http://" + a.http + "/debug/fault"
	body := `{"component":"scheduler","fault":"stall"}`

	// What a web page can send: no token, text/plain, its own Origin.
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Origin", "http://attacker.example")
	if code, b := do(t, req); code == 200 {
		t.Fatalf("a cross-site request was obeyed: %s", b)
	}
	req, _ = http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if code, b := do(t, req); code != 401 {
		t.Fatalf("no token: %d %s, want 401", code, b)
	}
	if code, _, _ := get("http://" + a.http + "/health/live"); code != 200 {
		t.Fatalf("a refused fault took effect: /health/live %d", code)
	}

	// The operator, with the token from the data dir.
	if code, b := postFault(t, a, `{"clear":true}`); code != 200 {
		t.Fatalf("with the token: %d %s", code, b)
	}
	st, err := os.Stat(filepath.Join(a.dataDir, "fault-token"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("fault-token: %v mode %v, want 0600", err, st.Mode().Perm())
	}
}

func TestRestartKeepsEventIDsApartAndSaysEventsWereMissed(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := []string{"--data-dir", dir, "--mdns=false", "--min-peers", "0", "--http", httpAddr,
		"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port), "--startup-grace", "1s"}
	first := func() string {
		a := &proc{http: httpAddr, dataDir: dir, log: &syncBuffer{}, done: make(chan struct{})}
		a.cmd = exec.Command(binary, args...)
		a.cmd.Stderr = a.log
		if err := a.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { a.err = a.cmd.Wait(); close(a.done) }()
		defer func() { a.cmd.Process.Signal(syscall.SIGTERM); a.exitCode(t, 15*time.Second) }()
		waitReady(t, a)
		var id string
		testkit.Eventually(t, 20*time.Second, "an event id", func() (bool, string) {
			id = lastEventID(t, httpAddr)
			return id != "", ""
		})
		return id
	}()
	b := startNodeAt(t, args)
	waitReady(t, b)
	stream := openEvents(t, httpAddr, first)
	if !strings.Contains(stream, "event: missed") || strings.Contains(stream, "id: "+first+"\n") {
		t.Fatalf("resuming from %s after a restart:\n%s\nwant a missed event and new ids", first, stream)
	}
}

func startNodeAt(t *testing.T, args []string) *proc {
	t.Helper()
	p := &proc{log: &syncBuffer{}, done: make(chan struct{})}
	for i, a := range args {
		if a == "--http" {
			p.http = args[i+1]
		}
	}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

// openEvents reads what a /health/events stream sends at once (resumed
// from lastID), up to its first keepalive or a quiet second.
func openEvents(t *testing.T, addr, lastID string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /health/events HTTP/1.1\r\nHost: %s\r\nLast-Event-ID: %s\r\n\r\n", addr, lastID)
	var out []byte
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(time.Second))
		n, err := conn.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return string(out)
		}
	}
}

// lastEventID is the id of the last event the node has in its log.
func lastEventID(t *testing.T, addr string) string {
	t.Helper()
	stream := openEvents(t, addr, "x-0") // not an id of this boot: its whole log is replayed
	id := ""
	for _, l := range strings.Split(stream, "\n") {
		if v, ok := strings.CutPrefix(l, "id: "); ok {
			id = strings.TrimSpace(v)
		}
	}
	return id
}
