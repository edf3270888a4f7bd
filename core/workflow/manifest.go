package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/registry"
)

// ManifestSchema is the version of the runtime manifest format.
const ManifestSchema = 1

// Manifest is the runtime manifest: the config blob of a bundle. It holds
// everything a restore needs to decide how to make the environment, and
// nothing that depends on when or where the bundle was built.
type Manifest struct {
	Schema int    `json:"schema"`
	Name   string `json:"name"`
	Mode   string `json:"mode"`
	// Python is the exact X.Y.Z of the environment; PythonVersion its X.Y.
	Python        string `json:"python"`
	PythonVersion string `json:"python_version"`
	// OS and Arch as Go names them (linux, amd64); Platform and ABI as
	// Python does (linux-x86_64, cp311).
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	Platform string `json:"platform,omitempty"`
	ABI      string `json:"abi,omitempty"`
	// SpecFile is the name of the runtime.yaml in the snapshot.
	SpecFile string `json:"spec_file"`
	// Spec is the normalized runtime.yaml.
	Spec json.RawMessage `json:"spec"`
	// Lock lists every installed distribution; LockFiles names the lock files
	// in the snapshot (under .starwhale/lock/).
	Lock      []mode.LockedPackage `json:"lock"`
	LockFiles []string             `json:"lock_files,omitempty"`
	// LockOnly bundles have no env layers: restore installs the lock.
	LockOnly bool `json:"lock_only,omitempty"`
	// LockDisabled bundles were built with -del/--disable-env-lock: the
	// spec's dependencies as written are their lock (see disablelock.go).
	LockDisabled bool   `json:"lock_disabled,omitempty"`
	SwcliVersion string `json:"swcli_version"`
	// Relocation tells the mode what to fix after unpacking the env layers.
	Relocation *Relocation `json:"relocation,omitempty"`
}

// Relocation is what the packer changed or found (see core/envpack).
type Relocation struct {
	TextFiles   []string `json:"text_files,omitempty"`
	BinaryFiles []string `json:"binary_files,omitempty"`
	// OldPrefix is set only when BinaryFiles is not empty: binary files hold
	// it and it cannot be scrubbed, so such bundles depend on the build path.
	OldPrefix string `json:"old_prefix,omitempty"`
}

// Bundle is a stored version: its OCI manifest and runtime manifest.
type Bundle struct {
	Version  registry.Version
	OCI      *ocispec.Manifest
	Raw      []byte
	Manifest *Manifest
}

// LoadBundle reads the OCI manifest and the runtime manifest of a version.
func LoadBundle(ctx context.Context, p instance.Place, v registry.Version) (*Bundle, error) {
	raw, err := p.Manifest(ctx, v)
	if err != nil {
		return nil, err
	}
	m, err := bundle.ParseManifest(raw)
	if err != nil {
		return nil, err
	}
	rm, err := readConfig(ctx, p, m.Config)
	if err != nil {
		return nil, err
	}
	return &Bundle{Version: v, OCI: m, Raw: raw, Manifest: rm}, nil
}

func readConfig(ctx context.Context, p instance.Blobs, d ocispec.Descriptor) (*Manifest, error) {
	if d.Size > 64<<20 {
		return nil, fmt.Errorf("runtime manifest %s is too large (%d bytes)", d.Digest, d.Size)
	}
	rc, err := p.Get(ctx, d.Digest, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return nil, err
	}
	return ParseManifest(data)
}

// ParseManifest decodes a runtime manifest strictly enough to trust it.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("runtime manifest: %v", err)
	}
	if m.Schema != ManifestSchema {
		return nil, fmt.Errorf("runtime manifest schema %d is not supported (this swcli reads %d); upgrade swcli", m.Schema, ManifestSchema)
	}
	if m.Name == "" || m.Mode == "" {
		return nil, fmt.Errorf("runtime manifest: name and mode are required")
	}
	return &m, nil
}

// Layers of a bundle by role.
func (b *Bundle) Layers(role string) []ocispec.Descriptor {
	var out []ocispec.Descriptor
	for _, l := range b.OCI.Layers {
		if l.Annotations[bundle.AnnotationRole] == role {
			out = append(out, l)
		}
	}
	return out
}
