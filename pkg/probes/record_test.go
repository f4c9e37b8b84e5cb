package probes

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func edKey(t testing.TB) (crypto.PrivKey, peer.ID) {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return sk, id
}

func signedRecord(t testing.TB, sk crypto.PrivKey, seq uint64) *ProbeRecord {
	t.Helper()
	payload := make([]byte, RecordPayloadSize)
	rand.Read(payload)
	r, err := NewProbeRecord(sk, seq, 1_700_000_000_000_000_000+int64(seq), payload)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func encoded(t testing.TB, r *ProbeRecord) []byte {
	t.Helper()
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resign recomputes the signature after a field was changed, as the key's
// owner could.
func resign(t testing.TB, sk crypto.PrivKey, r *ProbeRecord) {
	sig, err := sk.Sign(r.SigningBytes())
	if err != nil {
		t.Fatal(err)
	}
	r.Sig = base64.StdEncoding.EncodeToString(sig)
}

func TestRecordValidatorAcceptsOnlyTheOwnersSignedRecord(t *testing.T) {
	sk, id := edKey(t)
	otherSK, _ := edKey(t)
	key := ProbeKey(id)
	ecdsaSK, _, _ := crypto.GenerateECDSAKeyPair(rand.Reader)
	ecdsaID, _ := peer.IDFromPrivateKey(ecdsaSK)

	cases := []struct {
		name string
		key  string
		make func() []byte
		want error // nil: accepted
	}{
		{"the owner's record", key, func() []byte { return encoded(t, signedRecord(t, sk, 5)) }, nil},
		{"another peer's record under this key", key, func() []byte { return encoded(t, signedRecord(t, otherSK, 5)) }, ErrRecordOrigin},
		{"origin rewritten to the owner, signed by another", key, func() []byte {
			r := signedRecord(t, otherSK, 5)
			r.Origin = id.String()
			resign(t, otherSK, r)
			return encoded(t, r)
		}, ErrRecordSignature},
		{"signature of a different record", key, func() []byte {
			r := signedRecord(t, sk, 5)
			r.Sig = signedRecord(t, sk, 6).Sig
			return encoded(t, r)
		}, ErrRecordSignature},
		{"payload tampered, digest left", key, func() []byte {
			r := signedRecord(t, sk, 5)
			p, _ := base64.StdEncoding.DecodeString(r.Payload)
			p[0] ^= 1
			r.Payload = base64.StdEncoding.EncodeToString(p)
			return encoded(t, r)
		}, ErrRecordDigest},
		{"payload and digest tampered together", key, func() []byte {
			r := signedRecord(t, sk, 5)
			p, _ := base64.StdEncoding.DecodeString(r.Payload)
			p[0] ^= 1
			sum := sha256.Sum256(p)
			r.Payload, r.SHA256 = base64.StdEncoding.EncodeToString(p), hex.EncodeToString(sum[:])
			return encoded(t, r)
		}, ErrRecordSignature},
		{"seq raised without re-signing", key, func() []byte {
			r := signedRecord(t, sk, 5)
			r.Seq = 99
			return encoded(t, r)
		}, ErrRecordSignature},
		{"an origin whose ID does not embed its key", ProbeKey(ecdsaID), func() []byte {
			return encoded(t, signedRecord(t, ecdsaSK, 5))
		}, ErrRecordSignature},
		{"key outside the namespace", "/other/" + id.String() + "/probe", func() []byte { return encoded(t, signedRecord(t, sk, 5)) }, ErrRecordMalformed},
		{"key of another name", "/meshhealth/" + id.String() + "/status", func() []byte { return encoded(t, signedRecord(t, sk, 5)) }, ErrRecordMalformed},
		{"oversized", key, func() []byte {
			b := encoded(t, signedRecord(t, sk, 5))
			return append(b[:len(b)-1], []byte(`,"pad":"`+strings.Repeat("x", MaxRecordSize)+`"}`)...)
		}, ErrRecordMalformed},
		{"unknown fields are ignored", key, func() []byte {
			b := encoded(t, signedRecord(t, sk, 5))
			return append(b[:len(b)-1], []byte(`,"future":true}`)...)
		}, nil},
		{"a field in other case does not count", key, func() []byte {
			b := encoded(t, signedRecord(t, sk, 5))
			return bytes.Replace(b, []byte(`"seq"`), []byte(`"SEQ"`), 1)
		}, ErrRecordMalformed},
		{"seq zero", key, func() []byte {
			r := signedRecord(t, sk, 5)
			r.Seq = 0
			resign(t, sk, r)
			return encoded(t, r)
		}, ErrRecordMalformed},
		{"short payload", key, func() []byte {
			r := signedRecord(t, sk, 5)
			r.Payload = base64.StdEncoding.EncodeToString([]byte("short"))
			return encoded(t, r)
		}, ErrRecordMalformed},
		{"not JSON", key, func() []byte { return []byte("garbage") }, ErrRecordMalformed},
		{"trailing data", key, func() []byte { return append(encoded(t, signedRecord(t, sk, 5)), "{}"...) }, ErrRecordMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := RecordValidator{}.Validate(c.key, c.make())
			if c.want == nil && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
		})
	}
}

func TestRecordValidatorSelectsTheHighestValidSeq(t *testing.T) {
	sk, id := edKey(t)
	otherSK, _ := edKey(t)
	key := ProbeKey(id)
	v := RecordValidator{}
	old, newer, newest := encoded(t, signedRecord(t, sk, 10)), encoded(t, signedRecord(t, sk, 20)), encoded(t, signedRecord(t, sk, 30))
	forged := encoded(t, signedRecord(t, otherSK, 99))

	cases := []struct {
		name   string
		values [][]byte
		want   int
	}{
		{"newest first", [][]byte{newest, old, newer}, 0},
		{"newest last", [][]byte{old, newer, newest}, 2},
		{"a forged higher seq is never chosen", [][]byte{old, forged, newer}, 2},
		{"ties keep the first", [][]byte{newer, newer}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := v.Select(key, c.values)
			if err != nil || got != c.want {
				t.Fatalf("Select = %d, %v; want %d", got, err, c.want)
			}
		})
	}
	if _, err := v.Select(key, [][]byte{forged}); err == nil {
		t.Fatal("Select chose among only invalid values")
	}
}

func TestProbeRecordSigningBytesAreTheDocumentedLines(t *testing.T) {
	r := ProbeRecord{Origin: "12D3KooWA", Seq: 7, TS: 42, Payload: "cA==", SHA256: "ab", Sig: "ignored"}
	want := "meshhealth/dht-probe/v1\n12D3KooWA\n7\n42\ncA==\nab"
	if got := string(r.SigningBytes()); got != want {
		t.Fatalf("signing bytes %q, want %q", got, want)
	}
}

func FuzzDecodeProbeRecord(f *testing.F) {
	sk, id := edKey(f)
	good := encoded(f, signedRecord(f, sk, 3))
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"origin":"x","seq":1,"ts":1,"payload":"","sha256":"","sig":""}`))
	f.Add([]byte(`null`))
	key := ProbeKey(id)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeProbeRecord(data)
		if err != nil {
			if r != nil {
				t.Fatal("a record returned with an error")
			}
			return
		}
		// A decoded record re-encodes within bounds and verifies without
		// panicking; only the genuine record may verify.
		if _, err := r.Encode(); err != nil && len(data) <= MaxRecordSize/2 {
			t.Fatalf("decoded record does not re-encode: %v", err)
		}
		if VerifyProbeRecord(key, r) == nil {
			if r2, _ := DecodeProbeRecord(good); r2.Sig != r.Sig || r2.Payload != r.Payload {
				t.Fatalf("a record other than the genuine one verified: %s", data)
			}
		}
	})
}

// The example in docs/PROTOCOL.md ("DHT probe record"): another
// implementation checks its signing against these exact bytes.
func TestProbeRecordMatchesTheDocumentedExample(t *testing.T) {
	seed := sha256.Sum256([]byte("meshhealth protocol example"))
	std := ed25519.NewKeyFromSeed(seed[:])
	sk, _, err := crypto.KeyPairFromStdKey(&std)
	if err != nil {
		t.Fatal(err)
	}
	payload := sha256.Sum256([]byte("example payload"))
	r, err := NewProbeRecord(sk, 1764017301000123, 1764017301000123456, payload[:])
	if err != nil {
		t.Fatal(err)
	}
	got := encoded(t, r)
	const want = `{"origin":"12D3KooWBxxM8RQVGYD9JARHqienZxWMWruRxoV7sB6TFxWX6Xwh","seq":1764017301000123,"ts":1764017301000123456,` +
		`"payload":"3twpmKMOhUE4jamEnUBDF37BM70/RU3ZA6de281oiNs=","sha256":"fd3a2e6ff61477bda52b0bd63bd6a70dbedd46ca70052718e6629b1d3e8fa8c2",` +
		`"sig":"pS3jaZnMYsVN0gw5rRk+3eHt5JvrFGlU4VrxWZj5FXQsaN4s74+z1BtycaWdI7QuKSOJGXkhS+BOiWWOPmFIDg=="}`
	if string(got) != want {
		t.Fatalf("record\n%s\nwant\n%s", got, want)
	}
	key := "/meshhealth/12D3KooWBxxM8RQVGYD9JARHqienZxWMWruRxoV7sB6TFxWX6Xwh/probe"
	if err := (RecordValidator{}).Validate(key, []byte(want)); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte("\n"+want+"\n")) || !bytes.Contains(doc, []byte("`"+key+"`")) {
		t.Fatal("docs/PROTOCOL.md no longer shows this record and key")
	}
}
