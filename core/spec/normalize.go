package spec

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/swcli/swcli/core/mode"
)

// Normalized returns the canonical JSON of the model, for the bundle
// manifest: object keys sorted, no insignificant space, no HTML escaping,
// empty fields left out, dependencies in their order. Two runtime.yaml files
// that mean the same thing (keys in any order, comments, quoting, aliases)
// give the same bytes.
func (s *Spec) Normalized() ([]byte, error) {
	c := *s
	if c.Dependencies == nil {
		c.Dependencies = []mode.Dependency{}
	}
	raw, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("spec: normalize: %w", err)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("spec: normalize: %w", err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return nil, fmt.Errorf("spec: normalize: %w", err)
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}
