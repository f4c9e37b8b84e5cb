package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// killWithin is the bound: a killed member leaves `alive` on the
// page within 15 s (detection by the liveness view, then at most a second
// for the stream, and a second for the page's redraw).
const killWithin = 15 * time.Second

// env returns the variable or, when unset, def; a relative default is
// taken from the repository's root (two levels up).
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	abs, _ := filepath.Abs(filepath.Join("..", "..", def))
	return abs
}

type state struct {
	Nodes []struct {
		Name   string `json:"name"`
		HTTP   string `json:"http"`
		PeerID string `json:"peer_id"`
	} `json:"nodes"`
}

func testnet(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("testnet %v: %v\n%s", args, err, out)
	}
}

func TestDashboardShowsMembersAndAKill(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		if os.Getenv("BROWSER_TEST_REQUIRED") != "" {
			t.Fatal("no chromium on PATH (apt-get install chromium) and BROWSER_TEST_REQUIRED is set")
		}
		t.Skip("no chromium on PATH; apt-get install chromium")
	}
	tn, nodeBin := env("TESTNET", "bin/testnet"), env("NODE_BIN", "bin/meshhealth")
	artifacts := env("BROWSER_ARTIFACTS", "bin/browser-artifacts")
	for _, b := range []string{tn, nodeBin} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("%s missing: run make build", b)
		}
	}
	dir := t.TempDir()
	t.Cleanup(func() { exec.Command(tn, "down", "--dir", dir).Run() })
	testnet(t, tn, "up", "-n", "5", "--mode", "local", "--dir", dir, "--node-bin", nodeBin)
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 5 || st.Nodes[4].PeerID == "" {
		t.Fatalf("state: %+v", st.Nodes)
	}
	victim := st.Nodes[4]

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	url := "http://" + st.Nodes[0].HTTP + "/"
	// Five rows, all alive: the mesh has converged on the page.
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("load %s: %v", url, err)
	}
	if _, err := chromedp.Run(ctx,
		chromedp.Poll[bool](`document.querySelectorAll('#members tr').length === 5 &&
			[...document.querySelectorAll('#members tr')].every(r => r.dataset.state === 'alive')`,
			chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("five alive members on %s: %v", url, err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG; below it, JPEG
		if err != nil {
			t.Errorf("screenshot: %v", err)
			return
		}
		p := filepath.Join(artifacts, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Error(err)
		}
		t.Logf("screenshot %s", p)
	}
	shot("dashboard-5-nodes.png")

	start := time.Now()
	testnet(t, tn, "chaos", "kill", victim.Name, "--dir", dir)
	sel := fmt.Sprintf(`(document.querySelector('#members tr[data-id="%s"]') || {dataset: {state: 'alive'}}).dataset.state !== 'alive'`, victim.PeerID)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](sel, chromedp.WithPollingTimeout(killWithin))); err != nil {
		shot("dashboard-after-kill.png")
		t.Fatalf("%s still alive on the page %v after its kill: %v", victim.Name, killWithin, err)
	}
	left, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('#members tr[data-id="%s"]').dataset.state`, victim.PeerID)))
	t.Logf("%s killed: %s on the page after %v", victim.Name, left, time.Since(start).Round(100*time.Millisecond))
	shot("dashboard-after-kill.png")
}
