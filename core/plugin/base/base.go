// Package base is what every plugin kind has in common, like Nomad's base
// plugin: the Info a plugin gives about itself, its declared capabilities,
// the protocol version and the plugin kinds. Modes (core/mode) and stores
// (core/store) both describe themselves with it, so a store does not depend
// on the mode package. It has no dependencies beyond the standard library.
package base

import (
	"encoding/json"
	"slices"
)

// ProtocolVersion is the version of the plugin protocol. Plugins declare
// the versions they speak in Info.
const ProtocolVersion = 1

// Plugin kinds, as written in plugins.yaml and returned by Info.
const (
	KindMode  = "mode"
	KindStore = "store"
)

// Info describes a plugin.
type Info struct {
	Name             string       `json:"name"`
	Kind             string       `json:"kind"` // KindMode or KindStore
	Version          string       `json:"version"`
	ProtocolVersions []int        `json:"protocol_versions"`
	Capabilities     Capabilities `json:"capabilities,omitzero"`
	// ConfigSchema is a JSON schema of the plugin's own configuration, if any.
	ConfigSchema string `json:"config_schema,omitempty"`
}

// Capabilities are what a plugin declares it can do beyond the contract of
// its kind. The host reads the typed fields; on the wire and in JSON they
// are a list of names (the form plugins built before the fields existed
// send), see Names and ParseCapabilities.
type Capabilities struct {
	// Relocate (mode): env layers can be unpacked under another prefix and
	// fixed with Relocate, so restore may take the fast path.
	Relocate bool
	// SelfContained (mode): the env layers hold the whole environment,
	// interpreter included (conda). A fast-path restore unpacks them into an
	// empty prefix and calls Relocate; without it (venv) the host first
	// calls Create to make a fresh environment with this machine's
	// interpreter, then unpacks the layers over it.
	SelfContained bool
	// IncludeEditable (mode): Files honours FilesRequest.IncludeEditable by
	// reporting each editable distribution's source files as External. A
	// mode without it is refused `build --include-editable` up front.
	IncludeEditable bool
	// Compose (store): the plugin serves store.Composer (the Compose
	// call), so the host composes values in the store without the bytes
	// crossing the wire; without it the host streams them (store.ComposeOf).
	// Declared by internal/pluginwire for a store that implements it.
	Compose bool
	// RawBytes (store): the plugin serves the bytes of Get and Put on a
	// private Unix socket besides the gRPC streams (internal/pluginwire's
	// raw channel), which the host then uses; without it (an already-built
	// plugin) they go through gRPC. Declared by internal/pluginwire.
	RawBytes bool
	// URLGet (store): the plugin gives, for a Get, a short-lived URL that
	// the host fetches the bytes from itself (an S3 presigned GetObject),
	// so they do not pass through the plugin at all. Declared by
	// internal/pluginwire for a store that can.
	URLGet bool
	// URLPut (store): the host sends the bytes of a sized Put to the
	// service itself, to URLs the plugin presigns (S3 UploadPart and
	// PutObject), the plugin only starting and finishing the upload.
	// Declared by internal/pluginwire for a store that can.
	URLPut bool
	// Other are capability names the host does not act on, shown by
	// `swcli plugin list` (a store's "conditional-put").
	Other []string
}

// Capability names on the wire.
const (
	CapRelocate        = "relocate"
	CapSelfContained   = "self-contained"
	CapIncludeEditable = "include-editable"
	CapCompose         = "compose"
	CapRawBytes        = "raw-bytes"
	CapURLGet          = "url-get"
	CapURLPut          = "url-put"
)

// retired are names that plugins built before the typed fields declared
// and that no host ever read; they are dropped when parsing.
var retired = []string{"lock", "conda-dependencies", "pip-dependencies"}

// ParseCapabilities reads a list of capability names, as an old or new
// plugin sends it.
func ParseCapabilities(names []string) Capabilities {
	var c Capabilities
	for _, n := range names {
		switch {
		case n == CapRelocate:
			c.Relocate = true
		case n == CapSelfContained:
			c.SelfContained = true
		case n == CapIncludeEditable:
			c.IncludeEditable = true
		case n == CapCompose:
			c.Compose = true
		case n == CapRawBytes:
			c.RawBytes = true
		case n == CapURLGet:
			c.URLGet = true
		case n == CapURLPut:
			c.URLPut = true
		case slices.Contains(retired, n) || slices.Contains(c.Other, n):
		default:
			c.Other = append(c.Other, n)
		}
	}
	return c
}

// Names is the list form of c, the one ParseCapabilities reads.
func (c Capabilities) Names() []string {
	var out []string
	for _, f := range []struct {
		on   bool
		name string
	}{{c.Relocate, CapRelocate}, {c.SelfContained, CapSelfContained}, {c.IncludeEditable, CapIncludeEditable},
		{c.Compose, CapCompose}, {c.RawBytes, CapRawBytes}, {c.URLGet, CapURLGet}, {c.URLPut, CapURLPut}} {
		if f.on {
			out = append(out, f.name)
		}
	}
	return append(out, c.Other...)
}

// IsZero reports that nothing is declared (for omitzero).
func (c Capabilities) IsZero() bool { return len(c.Names()) == 0 }

// MarshalJSON writes the list form.
func (c Capabilities) MarshalJSON() ([]byte, error) {
	n := c.Names()
	if n == nil {
		n = []string{}
	}
	return json.Marshal(n)
}

// UnmarshalJSON reads the list form.
func (c *Capabilities) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	*c = ParseCapabilities(names)
	return nil
}
