package opchecks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/pkg/health"
)

func run(t *testing.T, s Spec, m Mesh) health.Result {
	t.Helper()
	c, err := s.Check(m)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), c.Timeout)
	defer cancel()
	return c.Checker(ctx)
}

func TestHTTPCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.WriteHeader(code)
		fmt.Fprint(w, `{"status":"ready"}`)
	}))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	for _, tc := range []struct {
		name   string
		spec   Spec
		pass   bool
		inText string
	}{
		{"200 passes", Spec{URL: srv.URL + "/?code=200"}, true, "200 OK"},
		{"a redirect status passes by default", Spec{URL: srv.URL + "/?code=304"}, true, "304"},
		{"503 fails", Spec{URL: srv.URL + "/?code=503"}, false, "503 Service Unavailable, want 200-399"},
		{"outside the range given", Spec{URL: srv.URL + "/?code=204", Status: "200"}, false, "want 200"},
		{"body found", Spec{URL: srv.URL + "/?code=200", BodyContains: `"ready"`}, true, "200"},
		{"body lacking", Spec{URL: srv.URL + "/?code=200", BodyContains: "healthy"}, false, `lacks "healthy"`},
		{"HEAD", Spec{URL: srv.URL + "/?code=200", Method: "HEAD"}, true, "HEAD"},
		{"TLS verified", Spec{URL: tlsSrv.URL}, false, "certificate"},
		{"TLS verification off", Spec{URL: tlsSrv.URL, TLSSkipVerify: true}, true, "200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Name, tc.spec.Kind = "web", KindHTTP
			res := run(t, tc.spec, Mesh{})
			if res.Healthy != tc.pass || !strings.Contains(res.Message, tc.inText) {
				t.Errorf("healthy %v %q, want %v and %q", res.Healthy, res.Message, tc.pass, tc.inText)
			}
		})
	}
	srv.Close()
	if res := run(t, Spec{Name: "web", Kind: KindHTTP, URL: srv.URL}, Mesh{}); res.Healthy || !strings.Contains(res.Message, "refused") {
		t.Errorf("server gone: %v %q, want a refused connection", res.Healthy, res.Message)
	}
}

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	s := Spec{Name: "db", Kind: KindTCP, Address: ln.Addr().String()}
	if res := run(t, s, Mesh{}); !res.Healthy {
		t.Errorf("listening: %q", res.Message)
	}
	ln.Close()
	if res := run(t, s, Mesh{}); res.Healthy || !strings.Contains(res.Message, "refused") {
		t.Errorf("closed: %v %q, want refused", res.Healthy, res.Message)
	}
}

func TestExecCheckFollowsNagiosExitCodes(t *testing.T) {
	for _, tc := range []struct {
		body           string
		healthy, degr  bool
		message, inMsg string
	}{
		{"echo 'DISK OK - 40% free'; exit 0", true, false, "DISK OK - 40% free", ""},
		{"exit 0", true, false, "exit 0", ""},
		{"echo 'DISK WARNING - 12% free'; exit 1", true, true, "warning (exit 1): DISK WARNING - 12% free", ""},
		{"echo 'DISK CRITICAL - 2% free' >&2; exit 2", false, false, "exit 2: DISK CRITICAL - 2% free", ""},
		{"exit 3", false, false, "exit 3", ""},
		{"kill -TERM $$", false, false, "", "signal: terminated"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			res := run(t, Spec{Name: "disk", Kind: KindExec, Command: []string{script(t, tc.body)}}, Mesh{})
			if res.Healthy != tc.healthy || res.Degraded != tc.degr {
				t.Errorf("healthy %v degraded %v, want %v %v (%q)", res.Healthy, res.Degraded, tc.healthy, tc.degr, res.Message)
			}
			if (tc.message != "" && res.Message != tc.message) || !strings.Contains(res.Message, tc.inMsg) {
				t.Errorf("message %q, want %q", res.Message, tc.message+tc.inMsg)
			}
		})
	}
}

func TestExecCheckArgumentsReachTheCommandWithoutAShell(t *testing.T) {
	s := script(t, `printf '%s|' "$@"; printf '%s' "$MESHHEALTH_CHECK $MESHHEALTH_FAULT_TOKEN"`)
	t.Setenv("MESHHEALTH_FAULT_TOKEN", "secret-of-the-node")
	res := run(t, Spec{Name: "disk", Kind: KindExec, Command: []string{s, "--min", "10G", "$HOME; rm -rf /"}}, Mesh{})
	if want := "--min|10G|$HOME; rm -rf /|disk"; res.Message != want {
		t.Errorf("message %q, want %q (arguments verbatim, the check's name, none of the node's secrets)", res.Message, want)
	}
}

func TestExecOutputIsCutAt4KiB(t *testing.T) {
	res := run(t, Spec{Name: "chatty", Kind: KindExec, Command: []string{script(t, "yes 0123456789 | head -c 100000; exit 0")}}, Mesh{})
	if !res.Healthy || len(res.Message) > maxOutput || len(res.Message) < maxOutput-16 {
		t.Errorf("healthy %v with a %d-byte message, want a pass and the first 4 KiB", res.Healthy, len(res.Message))
	}
}

// A command that overruns its timeout is killed with its whole process
// group: the child it started does not outlive the check.
func TestExecTimeoutKillsTheProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	s := script(t, "echo started; sleep 60 & echo $! > "+pidFile+"; wait")
	start := time.Now()
	res := run(t, Spec{Name: "hang", Kind: KindExec, Command: []string{s}, Interval: 2 * time.Second, Timeout: 300 * time.Millisecond}, Mesh{})
	if res.Healthy || !strings.Contains(res.Message, "timed out") || !strings.Contains(res.Message, "started") {
		t.Errorf("healthy %v %q, want a timeout with the output so far", res.Healthy, res.Message)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the run took %v: it waited for the child", took)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	testkit.WaitFor(t, 10*time.Second, "the child killed", func() bool { return gone(pid) })
}

// gone: no such process, or a zombie waiting for init to reap it.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return strings.HasPrefix(rest, "Z")
}

type fakePinger struct{ err error }

func (p fakePinger) Ping(_ context.Context, ai peer.AddrInfo) (time.Duration, error) {
	if ai.ID == "" {
		return 0, errors.New("no peer")
	}
	return time.Millisecond, p.err
}

type fakeGetter struct{ err error }

func (g fakeGetter) GetValue(context.Context, string) ([]byte, error) {
	if g.err != nil {
		return nil, g.err
	}
	return []byte("record"), nil
}

func TestPeerAndDHTGetChecks(t *testing.T) {
	peerSpec := Spec{Name: "boot", Kind: KindPeer, Peer: testPeer}
	if res := run(t, peerSpec, Mesh{Pinger: fakePinger{}}); !res.Healthy {
		t.Errorf("ping answered: %q", res.Message)
	}
	if res := run(t, peerSpec, Mesh{Pinger: fakePinger{err: errors.New("no route")}}); res.Healthy || !strings.Contains(res.Message, "no route") {
		t.Errorf("ping failed: %v %q", res.Healthy, res.Message)
	}
	key := "/meshhealth/" + testPeer + "/probe"
	getSpec := Spec{Name: "rec", Kind: KindDHTGet, Key: key}
	if res := run(t, getSpec, Mesh{Getter: fakeGetter{}}); !res.Healthy || !strings.Contains(res.Message, "resolved") {
		t.Errorf("key found: %v %q", res.Healthy, res.Message)
	}
	if res := run(t, getSpec, Mesh{Getter: fakeGetter{err: routing.ErrNotFound}}); res.Healthy {
		t.Errorf("key not found passed: %q", res.Message)
	}
	if _, err := peerSpec.Check(Mesh{}); err == nil {
		t.Error("a peer check built without a pinger")
	}
}
