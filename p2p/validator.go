package p2p

import (
	"fmt"
	"strings"

	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Namespace is the DHT record namespace of meshhealth: keys are
// /meshhealth/<peer-id>/<name>.
const Namespace = "meshhealth"

// MaxRecordSize bounds a meshhealth DHT value, as the wire protocol bounds
// GossipSub messages: a health record is small, and a peer must not be able
// to make others store large blobs.
const MaxRecordSize = 4 << 10

// RecordKey returns the DHT key of the record name published by id.
func RecordKey(id peer.ID, name string) string {
	return "/" + Namespace + "/" + id.String() + "/" + name
}

// ShapeValidator is the default validator of the meshhealth namespace. It
// accepts only keys of the form /meshhealth/<peer-id>/<name> and values of at
// most MaxRecordSize bytes. It checks shape, not authorship: the DHT
// integrity probe replaces it (Options.Validators["meshhealth"]) with one
// that verifies each record's signature against the peer ID in its key and
// selects the highest sequence number.
type ShapeValidator struct{}

var _ record.Validator = ShapeValidator{}

// Validate checks the key's shape and the value's size.
func (ShapeValidator) Validate(key string, value []byte) error {
	if _, _, err := ParseRecordKey(key); err != nil {
		return err
	}
	if len(value) > MaxRecordSize {
		return fmt.Errorf("record %s: value of %d bytes exceeds %d", key, len(value), MaxRecordSize)
	}
	return nil
}

// Select takes the first value: with no sequence number in an unsigned
// value there is nothing to order by, and the choice must be stable.
func (ShapeValidator) Select(key string, values [][]byte) (int, error) {
	if len(values) == 0 {
		return 0, fmt.Errorf("record %s: no values to select from", key)
	}
	return 0, nil
}

// ParseRecordKey splits /meshhealth/<peer-id>/<name> into its peer ID and
// name.
func ParseRecordKey(key string) (peer.ID, string, error) {
	rest, ok := strings.CutPrefix(key, "/"+Namespace+"/")
	if !ok {
		return "", "", fmt.Errorf("record key %q: not in the /%s/ namespace", key, Namespace)
	}
	idPart, name, ok := strings.Cut(rest, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("record key %q: want /%s/<peer-id>/<name>", key, Namespace)
	}
	id, err := peer.Decode(idPart)
	if err != nil {
		return "", "", fmt.Errorf("record key %q: bad peer id: %w", key, err)
	}
	return id, name, nil
}
