package p2p

import (
	"strings"
	"testing"
	"time"
)

const testPeer = "12D3KooWGzBuDdsN6ZxzBLCCsNBCMwcNqhVk9zAwgSkyAkbXAJV7"

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

func TestConfigValidateReportsEachProblem(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // one substring per expected line; none means valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"bootstrap with peer id", func(c *Config) {
			c.Bootstrap = []string{"/ip4/10.0.0.1/tcp/4001/p2p/" + testPeer, "/ip4/10.0.0.1/udp/4001/quic-v1/p2p/" + testPeer}
		}, nil},
		{"quic only listener", func(c *Config) { c.Listen = []string{"/ip6/::/udp/0/quic-v1"} }, nil},
		{"no listen address", func(c *Config) { c.Listen = nil }, []string{"listen: at least one"}},
		{"bad listen multiaddr", func(c *Config) { c.Listen = []string{"tcp/4001"} }, []string{`listen: "tcp/4001"`}},
		{"listen on unsupported transport", func(c *Config) { c.Listen = []string{"/ip4/0.0.0.0/udp/4001"} }, []string{"no transport"}},
		{"listen naming a peer", func(c *Config) { c.Listen = []string{"/ip4/0.0.0.0/tcp/1/p2p/" + testPeer} }, []string{"must not name a peer"}},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, []string{"data_dir"}},
		{"bootstrap without peer id", func(c *Config) { c.Bootstrap = []string{"/ip4/10.0.0.1/tcp/4001"} }, []string{"/p2p/<peer-id>"}},
		{"bootstrap with only a peer id", func(c *Config) { c.Bootstrap = []string{"/p2p/" + testPeer} }, []string{"transport address"}},
		{"bootstrap garbage", func(c *Config) { c.Bootstrap = []string{"10.0.0.1:4001"} }, []string{`bootstrap: "10.0.0.1:4001"`}},
		{"mdns without service name", func(c *Config) { c.MDNSService = "" }, []string{"mdns_service"}},
		{"mdns service with spaces", func(c *Config) { c.MDNSService = "mesh health" }, []string{"mdns_service"}},
		{"service name ignored with mdns off", func(c *Config) { c.MDNS, c.MDNSService = false, "" }, nil},
		{"conn low zero", func(c *Config) { c.ConnLow = 0 }, []string{"conn_low"}},
		{"conn high not above low", func(c *Config) { c.ConnLow, c.ConnHigh = 64, 64 }, []string{"conn_high: 64 must be > conn-low (64)"}},
		{"bootstrap interval zero", func(c *Config) { c.BootstrapInterval = 0 }, []string{"bootstrap_interval"}},
		{"bootstrap interval above the cap", func(c *Config) { c.BootstrapInterval = time.Minute }, []string{"bootstrap_interval"}},
		{"several problems, one line each", func(c *Config) {
			c.DataDir, c.ConnLow, c.Bootstrap = "", 0, []string{"/ip4/1.2.3.4/tcp/1"}
		}, []string{"data_dir", "/p2p/<peer-id>", "conn_low"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("Validate() gave %d lines, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestBootstrapPeersMergesAddressesOfOnePeer(t *testing.T) {
	infos, err := bootstrapPeers([]string{
		"/ip4/10.0.0.1/tcp/4001/p2p/" + testPeer,
		"/ip4/10.0.0.1/udp/4001/quic-v1/p2p/" + testPeer,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || len(infos[0].Addrs) != 2 {
		t.Fatalf("bootstrapPeers = %v, want one peer with two addresses", infos)
	}
}
