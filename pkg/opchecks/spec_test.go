package opchecks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const testPeer = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "check.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func decode(t *testing.T, src string) Specs {
	t.Helper()
	var ss Specs
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&ss); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return ss
}

func TestTheIssuesExampleIsValid(t *testing.T) {
	ok := script(t, "exit 0")
	ss := decode(t, `
- name: web
  kind: http
  url: http://127.0.0.1:8080/healthz
  interval: 5s
  timeout: 1s
  critical: false
- name: db-port
  kind: tcp
  address: 127.0.0.1:5432
- name: disk-script
  kind: exec
  command: ["`+ok+`", "--min", "10G"]
- name: boot-1
  kind: peer
  peer: /ip4/127.0.0.1/tcp/4001/p2p/`+testPeer+`
- name: record
  kind: dht-get
  key: /meshhealth/`+testPeer+`/probe
`)
	if err := ss.Validate("p2p-connectivity"); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	checks, err := ss.Checks(Mesh{Pinger: fakePinger{}, Getter: fakeGetter{}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"web": "web", "db-port": "db-port", "disk-script": "disk-script", "boot-1": "p2p", "record": "dht"}
	for _, c := range checks {
		if c.Component != want[c.Name] {
			t.Errorf("%s component = %s, want %s", c.Name, c.Component, want[c.Name])
		}
		if c.Timeout >= c.Interval {
			t.Errorf("%s timeout %v not below interval %v", c.Name, c.Timeout, c.Interval)
		}
	}
	if checks[0].Interval != 5*time.Second || checks[0].Timeout != time.Second || checks[1].Interval != 10*time.Second || checks[1].Timeout != 2*time.Second {
		t.Errorf("schedules = %v/%v and %v/%v, want 5s/1s as set and the 10s/2s defaults",
			checks[0].Interval, checks[0].Timeout, checks[1].Interval, checks[1].Timeout)
	}
	if got := ss.Components(); strings.Join(got, ",") != "web,db-port,disk-script,p2p,dht" {
		t.Errorf("Components = %v", got)
	}
}

// Each bad definition is refused with one line naming the check and the
// problem.
func TestBadDefinitionsAreRefusedOneLineEach(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(notExec, []byte("exit 0"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"unknown kind", Spec{Name: "x", Kind: "grpc"}, `x: unknown kind "grpc"`},
		{"no kind", Spec{Name: "x"}, "x: kind must be set"},
		{"no name", Spec{Kind: KindTCP, Address: "127.0.0.1:1"}, "#1: name must be set"},
		{"bad name", Spec{Name: "a b", Kind: KindTCP, Address: "127.0.0.1:1"}, `a b: name "a b" must be`},
		{"reserved name", Spec{Name: "resources", Kind: KindTCP, Address: "127.0.0.1:1"}, "resources: name is reserved"},
		{"missing url", Spec{Name: "web", Kind: KindHTTP}, "web: url must be set"},
		{"relative url", Spec{Name: "web", Kind: KindHTTP, URL: "/healthz"}, "web: url \"/healthz\" must be an absolute"},
		{"bad method", Spec{Name: "web", Kind: KindHTTP, URL: "http://a/", Method: "POST"}, `web: method "POST" must be GET or HEAD`},
		{"bad status", Spec{Name: "web", Kind: KindHTTP, URL: "http://a/", Status: "299-200"}, `web: status "299-200"`},
		{"timeout not below interval", Spec{Name: "web", Kind: KindHTTP, URL: "http://a/", Interval: time.Second, Timeout: time.Second},
			"web: timeout 1s must be below the interval 1s"},
		{"default timeout above interval", Spec{Name: "db", Kind: KindTCP, Address: "a:1", Timeout: 20 * time.Second},
			"db: timeout 20s must be below the interval 10s"},
		{"missing address", Spec{Name: "db", Kind: KindTCP}, "db: address must be set"},
		{"address without port", Spec{Name: "db", Kind: KindTCP, Address: "db.local"}, `db: address "db.local" must be host:port`},
		{"key of another kind", Spec{Name: "db", Kind: KindTCP, Address: "a:1", URL: "http://a/"}, "db: url is not a key of a tcp check"},
		{"no command", Spec{Name: "disk", Kind: KindExec}, "disk: command must name a program"},
		{"command missing", Spec{Name: "disk", Kind: KindExec, Command: []string{"/nonexistent/check-disk"}}, `disk: command "/nonexistent/check-disk": `},
		{"command not executable", Spec{Name: "disk", Kind: KindExec, Command: []string{notExec}}, "permission denied"},
		{"not in PATH", Spec{Name: "disk", Kind: KindExec, Command: []string{"no-such-check-xyz"}}, "executable file not found"},
		{"bad peer", Spec{Name: "boot", Kind: KindPeer, Peer: "not-a-peer"}, `boot: peer "not-a-peer"`},
		{"peer multiaddr without id", Spec{Name: "boot", Kind: KindPeer, Peer: "/ip4/127.0.0.1/tcp/1"}, `boot: peer "/ip4/127.0.0.1/tcp/1"`},
		{"key outside the namespace", Spec{Name: "rec", Kind: KindDHTGet, Key: "/ipns/x"}, "not in the /meshhealth/ namespace"},
		{"negative threshold", Spec{Name: "db", Kind: KindTCP, Address: "a:1", FailureThreshold: -1}, "db: failure_threshold -1 must be >= 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Specs{tc.spec}.Validate("resources", "p2p-connectivity")
			if err == nil {
				t.Fatal("accepted")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("got %q, want one line containing %q", err, tc.want)
			}
			if _, err := tc.spec.Check(Mesh{Pinger: fakePinger{}, Getter: fakeGetter{}}); err == nil && tc.spec.Name != "" &&
				!strings.Contains(tc.want, "reserved") {
				t.Error("Check built what Validate refuses")
			}
		})
	}
}

func TestDuplicateNamesAreRefused(t *testing.T) {
	tcp := Spec{Name: "db", Kind: KindTCP, Address: "127.0.0.1:5432"}
	err := Specs{tcp, tcp, {Name: "web"}}.Validate()
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || lines[0] != "db: name is used by an earlier check" || !strings.HasPrefix(lines[1], "web: kind must be set") {
		t.Errorf("got:\n%s\nwant the duplicate and the missing kind, one line each", err)
	}
}

func TestUnknownKeysAreDecodeErrors(t *testing.T) {
	var ss Specs
	dec := yaml.NewDecoder(strings.NewReader("- name: web\n  kind: http\n  urll: http://a/\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&ss); err == nil || !strings.Contains(err.Error(), "urll") {
		t.Errorf("decode with a misspelt key: %v, want an error naming it", err)
	}
}

func FuzzSpecs(f *testing.F) {
	f.Add([]byte("- name: web\n  kind: http\n  url: http://127.0.0.1:8080/\n  status: 200-299\n"))
	f.Add([]byte("- name: db\n  kind: tcp\n  address: 127.0.0.1:5432\n  interval: 5s\n  timeout: 1s\n"))
	f.Add([]byte("- name: s\n  kind: exec\n  command: [/bin/true]\n"))
	f.Add([]byte("- name: b\n  kind: peer\n  peer: /ip4/127.0.0.1/tcp/1/p2p/" + testPeer + "\n"))
	f.Add([]byte("- name: r\n  kind: dht-get\n  key: /meshhealth/" + testPeer + "/probe\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		var ss Specs
		dec := yaml.NewDecoder(strings.NewReader(string(src)))
		dec.KnownFields(true)
		if dec.Decode(&ss) != nil {
			return
		}
		if ss.Validate() != nil {
			return
		}
		// What Validate accepts builds.
		if _, err := ss.Checks(Mesh{Pinger: fakePinger{}, Getter: fakeGetter{}}); err != nil {
			t.Fatalf("valid specs %+v do not build: %v", ss, err)
		}
	})
}
