package wire

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"
)

// The examples in docs/PROTOCOL.md are what a peer in another language
// copies: each must decode, and every type must have one.
func TestProtocolDocExamplesDecode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1)
	seen := map[string]bool{}
	for _, b := range blocks {
		data := b[1]
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			t.Errorf("example is not JSON: %v\n%s", err, data)
			continue
		}
		topic := ""
		for _, tp := range Topics() {
			for _, typ := range TopicTypes(tp) {
				if typ == head.Type {
					topic = tp
				}
			}
		}
		if _, err := Decode(topic, data); err != nil {
			t.Errorf("example of %q does not decode: %v\n%s", head.Type, err, data)
		}
		seen[head.Type] = true
	}
	for _, tp := range Topics() {
		for _, typ := range TopicTypes(tp) {
			if !seen[typ] {
				t.Errorf("no example of %q", typ)
			}
		}
	}
}
