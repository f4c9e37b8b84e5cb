package node

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testToken = "0123456789abcdef0123456789abcdef"

// gatedFaults is /debug/fault as the node serves it, with one fault that
// records whether it is on.
func gatedFaults(t *testing.T) (http.Handler, *bool) {
	t.Helper()
	on := new(bool)
	f := NewFaults(slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.Add("scheduler", "stall", func(v bool) { *on = v })
	return newFaultGate(f, testToken, "127.0.0.1:8081"), on
}

func TestFaultEndpointRefusesWhatAWebPageOrAStrangerCanSend(t *testing.T) {
	const body = `{"component":"scheduler","fault":"stall"}`
	tests := []struct {
		name   string
		host   string
		header map[string]string
		body   string
		code   int
		want   string
	}{
		{name: "the testnet's request", code: 200},
		{name: "localhost by name", host: "localhost:8081", code: 200},
		{name: "IPv6 literal", host: "[::1]:8081", code: 200},
		{name: "no token", header: map[string]string{"Authorization": ""}, code: 401, want: "bearer token"},
		{name: "wrong token", header: map[string]string{"Authorization": "Bearer " + strings.Repeat("0", 32)}, code: 401, want: "bearer token"},
		{name: "token not as bearer", header: map[string]string{"Authorization": "Basic " + testToken}, code: 401, want: "bearer token"},
		{name: "form post (CSRF)", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, code: 415, want: "application/json"},
		{name: "text/plain (CSRF without preflight)", header: map[string]string{"Content-Type": "text/plain"}, code: 415, want: "application/json"},
		{name: "no content type", header: map[string]string{"Content-Type": ""}, code: 415},
		{name: "DNS rebinding: a foreign Host", host: "attacker.example:8081", code: 403, want: "Host"},
		{name: "cross-site Origin", header: map[string]string{"Origin": "http://attacker.example"}, code: 403, want: "Origin"},
		{name: "opaque Origin", header: map[string]string{"Origin": "null"}, code: 403, want: "Origin"},
		{name: "cross-site fetch metadata", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, code: 403, want: "Sec-Fetch-Site"},
		{name: "garbage after the object", body: body + `{"component":"dht","fault":"fail-put"}`, code: 400, want: "data after the JSON object"},
		{name: "trailing text", body: body + "x", code: 400, want: "data after the JSON object"},
		{name: "trailing whitespace is fine", body: body + "\n  ", code: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, on := gatedFaults(t)
			b := tt.body
			if b == "" {
				b = body
			}
			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8081/debug/fault", strings.NewReader(b))
			if tt.host != "" {
				req.Host = tt.host
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testToken)
			for k, v := range tt.header {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.want) {
				t.Fatalf("%d %s; want %d mentioning %q", rec.Code, rec.Body.String(), tt.code, tt.want)
			}
			if *on != (tt.code == 200) {
				t.Errorf("fault on = %v after a %d answer", *on, rec.Code)
			}
		})
	}
}

func TestFaultTokenIsWrittenPrivateAndFreshAtEachStart(t *testing.T) {
	dir := t.TempDir()
	cfg := Default()
	cfg.P2P.DataDir = dir
	first, err := writeFaultToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FaultTokenFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %o, want 600", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != first || len(first) < minFaultTokenLen {
		t.Errorf("token file holds %q, token %q", b, first)
	}
	second, _ := writeFaultToken(cfg)
	if second == first {
		t.Error("a restart reused the random token")
	}
	cfg.FaultToken = testToken
	if got, _ := writeFaultToken(cfg); got != testToken {
		t.Errorf("configured token not used: %q", got)
	}
	if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != testToken {
		t.Errorf("token file holds %q, want the configured token", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
