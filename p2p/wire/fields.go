package wire

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
)

// fields is a message's top-level object, keyed exactly. Decoding through
// it rather than straight into a struct avoids encoding/json's
// case-insensitive key matching, under which {"term":1,"TERM":9} would mean
// 9 to Go and 1 to every other JSON library.
type fields map[string]json.RawMessage

func (f fields) raw(key string) (json.RawMessage, error) {
	r, ok := f[key]
	if !ok {
		return nil, fmt.Errorf("missing field %q", key)
	}
	if bytes.Equal(bytes.TrimSpace(r), []byte("null")) {
		return nil, fmt.Errorf("field %q is null", key)
	}
	return r, nil
}

func (f fields) into(key string, dst any) error {
	r, err := f.raw(key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(r, dst); err != nil {
		return fmt.Errorf("field %q: %w", key, err)
	}
	return nil
}

func (f fields) str(key string, dst *string) error { return f.into(key, dst) }
func (f fields) u64(key string, dst *uint64) error { return f.into(key, dst) }
func (f fields) i64(key string, dst *int64) error  { return f.into(key, dst) }
func (f fields) num(key string, dst *float64) error {
	return f.into(key, dst)
}

func (f fields) integer(key string, dst *int) error { return f.into(key, dst) }

// peerID reads a peer ID in its string form; empty is allowed only when
// optional is set.
func (f fields) peerID(key string, dst *peer.ID, optional bool) error {
	var s string
	if err := f.str(key, &s); err != nil {
		return err
	}
	if s == "" && optional {
		*dst = ""
		return nil
	}
	id, err := peer.Decode(s)
	if err != nil {
		return fmt.Errorf("field %q: %w", key, err)
	}
	*dst = id
	return nil
}

func (f fields) peerIDs(key string, dst *[]peer.ID) error {
	var ss []string
	if err := f.into(key, &ss); err != nil {
		return err
	}
	ids := make([]peer.ID, 0, len(ss))
	for i, s := range ss {
		id, err := peer.Decode(s)
		if err != nil {
			return fmt.Errorf("field %q[%d]: %w", key, i, err)
		}
		ids = append(ids, id)
	}
	*dst = ids
	return nil
}
