package probes

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// DHT probe record: what dht-integrity puts under /meshhealth/<peer-id>/probe
// and what the "meshhealth" namespace validator accepts. docs/PROTOCOL.md
// ("DHT probe record") is the contract for other implementations.
const (
	// RecordNamespace is the DHT key namespace the validator is registered
	// under: keys are /meshhealth/...
	RecordNamespace = "meshhealth"
	// MaxRecordSize bounds an encoded record, as GossipSub messages are
	// bounded: a peer must not make others store and serve large blobs.
	MaxRecordSize = 4 << 10
	// RecordPayloadSize is the length of the random payload. Fixed, so a
	// record cannot be padded into a storage channel.
	RecordPayloadSize = 32
	// MaxRecordSeq keeps seq exact in every JSON library (2^53-1, as the
	// wire protocol's integers). Seq is the author's clock in microseconds,
	// which stays below it for two more centuries.
	MaxRecordSeq = 1<<53 - 1
	// recordSigDomain separates these signatures from anything else the
	// same key signs (libp2p handshakes, pubsub messages).
	recordSigDomain = "meshhealth/dht-probe/v1"
)

// ProbeRecord is the signed value of a node's DHT probe key.
type ProbeRecord struct {
	Origin  string `json:"origin"`  // peer ID of the author, equal to the key's
	Seq     uint64 `json:"seq"`     // higher wins; Unix microseconds, so restarts do not go back
	TS      int64  `json:"ts"`      // author's clock, Unix nanoseconds
	Payload string `json:"payload"` // base64 (standard, padded) of RecordPayloadSize random bytes
	SHA256  string `json:"sha256"`  // lowercase hex SHA-256 of the decoded payload
	Sig     string `json:"sig"`     // base64 signature by Origin's key over SigningBytes
}

// ProbeKey is the DHT key of id's probe record.
func ProbeKey(id peer.ID) string { return "/" + RecordNamespace + "/" + id.String() + "/probe" }

// keyOrigin extracts the peer ID from a probe key.
func keyOrigin(key string) (peer.ID, error) {
	rest, ok := strings.CutPrefix(key, "/"+RecordNamespace+"/")
	if !ok {
		return "", fmt.Errorf("key %q is not in the /%s namespace", key, RecordNamespace)
	}
	idStr, ok := strings.CutSuffix(rest, "/probe")
	if !ok || idStr == "" || strings.Contains(idStr, "/") {
		return "", fmt.Errorf("key %q is not /%s/<peer-id>/probe", key, RecordNamespace)
	}
	id, err := peer.Decode(idStr)
	if err != nil {
		return "", fmt.Errorf("key %q: %w", key, err)
	}
	return id, nil
}

// SigningBytes is the canonical encoding the signature covers: the domain
// and every other field, one per line, in a fixed order. A line format
// rather than JSON so that any language reproduces it byte for byte without
// a canonical-JSON library.
func (r *ProbeRecord) SigningBytes() []byte {
	var b bytes.Buffer
	b.WriteString(recordSigDomain)
	for _, f := range []string{r.Origin, strconv.FormatUint(r.Seq, 10), strconv.FormatInt(r.TS, 10), r.Payload, r.SHA256} {
		b.WriteByte('\n')
		b.WriteString(f)
	}
	return b.Bytes()
}

// NewProbeRecord builds and signs a record for the owner of key.
func NewProbeRecord(key crypto.PrivKey, seq uint64, ts int64, payload []byte) (*ProbeRecord, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("probe record: peer ID of signing key: %w", err)
	}
	sum := sha256.Sum256(payload)
	r := &ProbeRecord{
		Origin:  id.String(),
		Seq:     seq,
		TS:      ts,
		Payload: base64.StdEncoding.EncodeToString(payload),
		SHA256:  hex.EncodeToString(sum[:]),
	}
	sig, err := key.Sign(r.SigningBytes())
	if err != nil {
		return nil, fmt.Errorf("probe record: signing: %w", err)
	}
	r.Sig = base64.StdEncoding.EncodeToString(sig)
	return r, nil
}

// Encode serialises the record as the DHT stores it.
func (r *ProbeRecord) Encode() ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("probe record: %w", err)
	}
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("probe record: %d bytes, at most %d", len(b), MaxRecordSize)
	}
	return b, nil
}

// Errors of DecodeProbeRecord and VerifyProbeRecord, for errors.Is.
var (
	ErrRecordMalformed = errors.New("malformed probe record")
	ErrRecordOrigin    = errors.New("probe record origin does not own the key")
	ErrRecordDigest    = errors.New("probe record sha256 does not match its payload")
	ErrRecordSignature = errors.New("probe record signature does not verify")
)

// DecodeProbeRecord parses a record strictly: at most MaxRecordSize bytes,
// one JSON object whose every field is present with the right type. Unknown
// fields are ignored, as on the wire. It checks the shape, not the
// signature (VerifyProbeRecord does).
func DecodeProbeRecord(data []byte) (*ProbeRecord, error) {
	if len(data) > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrRecordMalformed, len(data), MaxRecordSize)
	}
	// Through a map of exact keys: encoding/json matches struct fields
	// case-insensitively, and {"seq":1,"SEQ":9} must not mean 9 here and 1
	// to every other JSON library.
	var f map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil || f == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrRecordMalformed)
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return nil, fmt.Errorf("%w: trailing data", ErrRecordMalformed)
	}
	var r ProbeRecord
	field := func(name string, dst any) error {
		raw, ok := f[name]
		if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return fmt.Errorf("missing field %q", name)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("field %q: %w", name, err)
		}
		return nil
	}
	if err := errors.Join(
		field("origin", &r.Origin), field("seq", &r.Seq), field("ts", &r.TS),
		field("payload", &r.Payload), field("sha256", &r.SHA256), field("sig", &r.Sig),
	); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecordMalformed, err)
	}
	if r.Seq < 1 || r.Seq > MaxRecordSeq {
		return nil, fmt.Errorf("%w: seq %d outside [1, 2^53-1]", ErrRecordMalformed, r.Seq)
	}
	if r.TS <= 0 {
		return nil, fmt.Errorf("%w: ts %d is not a positive Unix time in nanoseconds", ErrRecordMalformed, r.TS)
	}
	payload, err := base64.StdEncoding.Strict().DecodeString(r.Payload)
	if err != nil || len(payload) != RecordPayloadSize {
		return nil, fmt.Errorf("%w: payload must be base64 of %d bytes", ErrRecordMalformed, RecordPayloadSize)
	}
	if len(r.SHA256) != 2*sha256.Size || strings.ToLower(r.SHA256) != r.SHA256 {
		return nil, fmt.Errorf("%w: sha256 must be %d lowercase hex digits", ErrRecordMalformed, 2*sha256.Size)
	}
	if _, err := hex.DecodeString(r.SHA256); err != nil {
		return nil, fmt.Errorf("%w: sha256 is not hex", ErrRecordMalformed)
	}
	if _, err := base64.StdEncoding.Strict().DecodeString(r.Sig); err != nil {
		return nil, fmt.Errorf("%w: sig is not base64", ErrRecordMalformed)
	}
	return &r, nil
}

// VerifyProbeRecord checks a decoded record against the key it was stored
// under: the origin owns the key, the digest matches the payload and the
// origin's key (embedded in its peer ID) signed it.
func VerifyProbeRecord(key string, r *ProbeRecord) error {
	owner, err := keyOrigin(key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecordMalformed, err)
	}
	origin, err := peer.Decode(r.Origin)
	if err != nil {
		return fmt.Errorf("%w: origin: %w", ErrRecordMalformed, err)
	}
	if origin != owner {
		return fmt.Errorf("%w: origin %s, key of %s", ErrRecordOrigin, origin, owner)
	}
	payload, err := base64.StdEncoding.Strict().DecodeString(r.Payload)
	if err != nil {
		return fmt.Errorf("%w: payload is not base64", ErrRecordMalformed)
	}
	sum := sha256.Sum256(payload)
	if hex.EncodeToString(sum[:]) != r.SHA256 {
		return ErrRecordDigest
	}
	// Only identity-hashed IDs (Ed25519, secp256k1) carry their key; an RSA
	// or ECDSA node cannot be checked without a key lookup, so its records
	// are refused rather than trusted.
	pub, err := origin.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("%w: origin %s does not embed its public key: %w", ErrRecordSignature, origin, err)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(r.Sig)
	if err != nil {
		return fmt.Errorf("%w: sig is not base64", ErrRecordMalformed)
	}
	ok, err := pub.Verify(r.SigningBytes(), sig)
	if err != nil || !ok {
		return ErrRecordSignature
	}
	return nil
}

// RecordValidator is the DHT record validator of the "meshhealth" namespace
// (a go-libp2p-record Validator). Register it on every node's DHT
// (dht.NamespacedValidator(RecordNamespace, RecordValidator{})): remote peers
// refuse forged records on PUT, and the prober checks every answer with it.
type RecordValidator struct{}

// Validate accepts only a well-formed record under its origin's key, with a
// matching digest and a valid signature.
func (RecordValidator) Validate(key string, value []byte) error {
	r, err := DecodeProbeRecord(value)
	if err != nil {
		return err
	}
	return VerifyProbeRecord(key, r)
}

// Select picks the record with the highest seq; on a tie the first, so the
// choice is stable. Invalid values are never selected.
func (v RecordValidator) Select(key string, values [][]byte) (int, error) {
	best, bestSeq := -1, uint64(0)
	for i, val := range values {
		r, err := DecodeProbeRecord(val)
		if err != nil || VerifyProbeRecord(key, r) != nil {
			continue
		}
		if best < 0 || r.Seq > bestSeq {
			best, bestSeq = i, r.Seq
		}
	}
	if best < 0 {
		return 0, errors.New("no valid probe record to select")
	}
	return best, nil
}
