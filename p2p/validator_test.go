package p2p

import (
	"bytes"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestShapeValidatorAcceptsOnlyMeshhealthKeysAndSmallValues(t *testing.T) {
	id, err := peer.Decode(testPeer)
	if err != nil {
		t.Fatal(err)
	}
	small := []byte("ok")
	tests := []struct {
		name  string
		key   string
		value []byte
		ok    bool
	}{
		{"record of a peer", RecordKey(id, "probe"), small, true},
		{"value at the limit", RecordKey(id, "probe"), bytes.Repeat([]byte{1}, MaxRecordSize), true},
		{"value over the limit", RecordKey(id, "probe"), bytes.Repeat([]byte{1}, MaxRecordSize+1), false},
		{"other namespace", "/ipns/" + testPeer, small, false},
		{"no name", "/meshhealth/" + testPeer, small, false},
		{"empty name", "/meshhealth/" + testPeer + "/", small, false},
		{"nested name", "/meshhealth/" + testPeer + "/a/b", small, false},
		{"not a peer id", "/meshhealth/alice/probe", small, false},
		{"no leading slash", "meshhealth/" + testPeer + "/probe", small, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ShapeValidator{}.Validate(tt.key, tt.value)
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%q, %d bytes) = %v, want ok=%v", tt.key, len(tt.value), err, tt.ok)
			}
		})
	}
}

func TestParseRecordKeyReturnsAuthorAndName(t *testing.T) {
	id, _ := peer.Decode(testPeer)
	gotID, name, err := ParseRecordKey(RecordKey(id, "probe"))
	if err != nil || gotID != id || name != "probe" {
		t.Fatalf("ParseRecordKey = %s, %q, %v; want %s, probe", gotID, name, err, id)
	}
}

func TestShapeValidatorSelectIsStable(t *testing.T) {
	v := ShapeValidator{}
	if i, err := v.Select("k", [][]byte{[]byte("a"), []byte("b")}); i != 0 || err != nil {
		t.Fatalf("Select = %d, %v; want 0", i, err)
	}
	if _, err := v.Select("k", nil); err == nil {
		t.Fatal("Select of nothing succeeded")
	}
}
