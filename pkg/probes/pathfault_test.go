package probes

import (
	"testing"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestPathFaultCutsOneDirectionOnly(t *testing.T) {
	self, other := peer.ID("self"), peer.ID("other")
	cases := []struct {
		name          string
		out, in       bool
		from          peer.ID
		wantCut       bool
		wantCutResult pubsub.ValidationResult
	}{
		{"no fault, own", false, false, self, false, 0},
		{"no fault, peer's", false, false, other, false, 0},
		{"outbound-only stops own", true, false, self, true, pubsub.ValidationIgnore},
		{"outbound-only still hears", true, false, other, false, 0},
		{"inbound-only lets own leave", false, true, self, false, 0},
		{"inbound-only hears nothing", false, true, other, true, pubsub.ValidationIgnore},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var f PathFault
			f.SetOutbound(c.out)
			f.SetInbound(c.in)
			r, cut := f.judge(self, c.from)
			if cut != c.wantCut || (cut && r != c.wantCutResult) {
				t.Errorf("judge = %v, %v; want cut %v", r, cut, c.wantCut)
			}
		})
	}
}
