package node

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// FaultTokenFile holds, inside the data directory, the bearer token that
// /debug/fault requires (0600, rewritten at every start). Local tools such
// as the testnet read it there.
const FaultTokenFile = "fault-token"

// minFaultTokenLen keeps a token given by flag or variable from being
// guessable: 16 characters of even a lowercase alphabet are ~75 bits.
const minFaultTokenLen = 16

// writeFaultToken returns the token /debug/fault will require, the
// configured one or 32 random bytes in hex, after writing it to the data
// directory. A fresh random token at every start means a token that leaked
// (a terminal scrollback, a copied curl line) is dead after a restart.
func writeFaultToken(c Config) (string, error) {
	token := c.FaultToken
	if token == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // crypto/rand.Read does not fail (Go 1.24+)
		token = hex.EncodeToString(b)
	}
	path := filepath.Join(c.P2P.DataDir, FaultTokenFile)
	// Written beside and renamed over, so a reader never sees half a token;
	// CreateTemp makes the file 0600.
	f, err := os.CreateTemp(c.P2P.DataDir, "."+FaultTokenFile+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("fault token: %w", err)
	}
	_, werr := f.WriteString(token + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("fault token: write %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("fault token: %w", err)
	}
	return token, nil
}

// faultGate admits a request to /debug/fault only from a local tool that
// holds the token, never from a web page:
//   - Host must be an IP literal, localhost or the configured listen host:
//     a DNS-rebinding page reaches 127.0.0.1 under its own name.
//   - An Origin other than the node's own, or a Sec-Fetch-Site other than
//     same-origin/none, is a browser sending on a page's behalf (CSRF).
//   - Authorization: Bearer <token> must match, compared in constant time.
//   - A POST must say Content-Type: application/json: an HTML form or a
//     "simple" cross-origin fetch cannot set it without a preflight.
type faultGate struct {
	next       http.Handler
	token      []byte
	listenHost string
}

func newFaultGate(next http.Handler, token, httpAddr string) *faultGate {
	host, _, err := net.SplitHostPort(httpAddr)
	if err != nil {
		host = httpAddr
	}
	return &faultGate{next: next, token: []byte(token), listenHost: strings.ToLower(host)}
}

func (g *faultGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if msg := g.refuse(r); msg != "" {
		code := http.StatusForbidden
		if strings.HasPrefix(msg, "missing or wrong bearer token") {
			code = http.StatusUnauthorized
			w.Header().Set("WWW-Authenticate", `Bearer realm="meshhealth fault injection"`)
		} else if strings.HasPrefix(msg, "Content-Type") {
			code = http.StatusUnsupportedMediaType
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(code)
		fmt.Fprintf(w, "{\"error\":%q}\n", msg)
		return
	}
	g.next.ServeHTTP(w, r)
}

// refuse returns why r is refused, or "".
func (g *faultGate) refuse(r *http.Request) string {
	if !g.allowedHost(r.Host) {
		return fmt.Sprintf("Host %q is not this node's address: use an IP address, localhost or the --http host", r.Host)
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
		return fmt.Sprintf("cross-site request from Origin %q refused", o)
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return fmt.Sprintf("cross-site request (Sec-Fetch-Site: %s) refused", s)
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), g.token) != 1 {
		return "missing or wrong bearer token: send Authorization: Bearer <the token in <data-dir>/" + FaultTokenFile + ">"
	}
	if r.Method == http.MethodPost {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			return fmt.Sprintf("Content-Type %q refused: send application/json", r.Header.Get("Content-Type"))
		}
	}
	return ""
}

func (g *faultGate) allowedHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport // no port
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true // an address literal cannot be rebound
	}
	return host == "localhost" || host == g.listenHost
}

func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Scheme == "http" && strings.EqualFold(u.Host, host)
}
