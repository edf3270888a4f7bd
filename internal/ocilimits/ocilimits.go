// Package ocilimits holds the rules every reader of OCI manifests in swcli
// applies, once: the size limits, what a well-formed digest is, and what a
// well-formed image manifest is. core/bundle (reading a .swrt bundle) and
// core/registry (accepting a pushed or copied version, or any manifest of
// the OCI API) both call it, so a manifest that one accepts the other
// accepts too; each then adds its own rules (the bundle format's artifact
// types and layer roles; the registry's index manifests).
package ocilimits

import (
	"bytes"
	"encoding/json"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// MaxManifestSize bounds a manifest (and a config blob) read into memory:
// 4 MiB, distribution's limit, so a bundle's manifest can be pushed to any
// OCI registry and to swcli's own server.
const MaxManifestSize = 4 << 20

// MaxLayers is the most layers a manifest may have (and the most manifests
// an index may list): that many layer descriptors with swcli's annotations
// fit in MaxManifestSize.
const MaxLayers = 10000

// Error is a manifest or digest that breaks a rule of this package; Reason
// says which, for a caller to wrap in its own error type.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return e.Reason }
func (e *Error) Unwrap() error { return e.Err }

func errorf(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// CheckDigest accepts a well-formed digest (go-digest's Validate: a known
// algorithm and its number of lowercase hex digits) of an algorithm blobs
// and manifests may use: sha256 (what swcli writes) or sha512 (an OCI push
// may use it).
func CheckDigest(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return &Error{Reason: fmt.Sprintf("digest %q: %v", string(d), err), Err: err}
	}
	if a := d.Algorithm(); a != digest.SHA256 && a != digest.SHA512 {
		return errorf("digest %q: algorithm %s is not supported, only sha256 and sha512", string(d), a)
	}
	return nil
}

// CheckSHA256 is CheckDigest for a format that holds sha256 digests only
// (a .swrt bundle's blobs/sha256/).
func CheckSHA256(d digest.Digest) error {
	if err := CheckDigest(d); err != nil {
		return err
	}
	if d.Algorithm() != digest.SHA256 {
		return errorf("digest %q is not sha256:<64 lowercase hex digits>", string(d))
	}
	return nil
}

// CheckDescriptor checks a descriptor's digest and size; what names it in
// the error ("config", "layer 3").
func CheckDescriptor(what string, d ocispec.Descriptor) error {
	if err := CheckDigest(d.Digest); err != nil {
		return &Error{Reason: what + ": " + err.Error(), Err: err}
	}
	if d.Size < 0 {
		return errorf("%s: size is %d", what, d.Size)
	}
	return nil
}

// CheckSize refuses a manifest of more than MaxManifestSize bytes.
func CheckSize(n int) error {
	if n > MaxManifestSize {
		return errorf("manifest is larger than %d bytes", MaxManifestSize)
	}
	return nil
}

// CheckCount refuses more than MaxLayers layers (or index entries).
func CheckCount(what string, n int) error {
	if n > MaxLayers {
		return errorf("manifest has %d %s, at most %d are allowed", n, what, MaxLayers)
	}
	return nil
}

// ParseImageManifest reads an OCI image manifest of at most MaxManifestSize
// bytes of one JSON object and checks it (CheckImageManifest). Problems are
// *Error.
func ParseImageManifest(data []byte) (*ocispec.Manifest, error) {
	if err := CheckSize(len(data)); err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, &Error{Reason: "manifest is not valid JSON: " + err.Error(), Err: err}
	}
	if dec.More() {
		return nil, errorf("manifest has data after the JSON object")
	}
	if err := CheckImageManifest(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

// CheckImageManifest checks what every image manifest must be:
// schemaVersion 2, mediaType absent or the OCI image manifest type, at most
// MaxLayers layers, and a config and layers whose digests pass CheckDigest
// and whose sizes are not negative. Problems are *Error.
func CheckImageManifest(m *ocispec.Manifest) error {
	if m.SchemaVersion != 2 {
		return errorf("manifest schemaVersion is %d, want 2", m.SchemaVersion)
	}
	if m.MediaType != "" && m.MediaType != ocispec.MediaTypeImageManifest {
		return errorf("manifest mediaType is %q, want %q", m.MediaType, ocispec.MediaTypeImageManifest)
	}
	if err := CheckCount("layers", len(m.Layers)); err != nil {
		return err
	}
	if err := CheckDescriptor("config", m.Config); err != nil {
		return err
	}
	for i, l := range m.Layers {
		if err := CheckDescriptor(fmt.Sprintf("layer %d", i), l); err != nil {
			return err
		}
	}
	return nil
}
