package bundle

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/internal/ocilimits"
)

// MaxLayers is the most layers a manifest may have (internal/ocilimits,
// shared with core/registry).
const MaxLayers = ocilimits.MaxLayers

// maxManifestSize bounds the manifest and config blobs that are read into
// memory (internal/ocilimits, shared with core/registry).
const maxManifestSize = ocilimits.MaxManifestSize

// Manifest returns the OCI image manifest of a runtime bundle as deterministic
// JSON: schemaVersion 2, the OCI manifest media type, ArtifactType, config and
// layers as given, and annotations (none of which should be a timestamp). The
// descriptors are checked as ParseManifest checks them.
func Manifest(config ocispec.Descriptor, layers []ocispec.Descriptor, annotations map[string]string) ([]byte, error) {
	return ManifestOf(ArtifactType, config, layers, annotations)
}

// ManifestOf is Manifest for a bundle of any artifact type (ArtifactType,
// ArtifactTypeModel, ArtifactTypeDataset).
func ManifestOf(artifactType string, config ocispec.Descriptor, layers []ocispec.Descriptor, annotations map[string]string) ([]byte, error) {
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       config,
		Layers:       layers,
		Annotations:  annotations,
	}
	if m.Layers == nil {
		m.Layers = []ocispec.Descriptor{}
	}
	if len(m.Annotations) == 0 {
		m.Annotations = nil
	}
	if err := checkManifest(&m); err != nil {
		return nil, err
	}
	return json.Marshal(&m)
}

// ParseManifest parses and checks a runtime manifest: schema version 2, the
// OCI manifest media type, ArtifactType, a config and layers of the runtime
// media types with well-formed sha256 digests and sizes >= 0, at most MaxLayers
// layers, and layer annotations that say their role and uncompressed size.
// Problems are *FormatError.
func ParseManifest(data []byte) (*ocispec.Manifest, error) {
	m, err := ocilimits.ParseImageManifest(data)
	if err != nil {
		return nil, limitErr(err)
	}
	if err := checkBundleManifest(m); err != nil {
		return nil, err
	}
	return m, nil
}

// limitErr is an internal/ocilimits refusal as a *FormatError.
func limitErr(err error) error {
	return &FormatError{Reason: err.Error(), Err: err}
}

// checkManifest checks m as ParseManifest does.
func checkManifest(m *ocispec.Manifest) error {
	if err := ocilimits.CheckImageManifest(m); err != nil {
		return limitErr(err)
	}
	return checkBundleManifest(m)
}

// checkBundleManifest checks what a bundle's manifest must be beyond any
// image manifest (ocilimits.CheckImageManifest).
func checkBundleManifest(m *ocispec.Manifest) error {
	switch {
	case m.MediaType != ocispec.MediaTypeImageManifest:
		return formatErr("", "manifest mediaType is %q, want %q", m.MediaType, ocispec.MediaTypeImageManifest)
	case configTypes[m.ArtifactType] == "":
		return formatErr("", "manifest artifactType is %q, want %q, %q or %q", m.ArtifactType, ArtifactType, ArtifactTypeModel, ArtifactTypeDataset)
	}
	if err := checkDescriptor("config", &m.Config, configTypes[m.ArtifactType]); err != nil {
		return err
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		what := fmt.Sprintf("layer %d", i)
		if err := checkDescriptor(what, l, MediaTypeLayer); err != nil {
			return err
		}
		role := l.Annotations[AnnotationRole]
		switch {
		case m.ArtifactType != ArtifactType:
			if role != RoleFiles {
				return formatErr("", "manifest %s: annotation %s is %q, want %s", what, AnnotationRole, role, RoleFiles)
			}
		case role == RoleSnapshot, role == RoleBase:
		case role == RolePackage:
			if p := l.Annotations[AnnotationPackage]; !strings.Contains(p, "==") {
				return formatErr("", "manifest %s: annotation %s is %q, want name==version", what, AnnotationPackage, p)
			}
		default:
			return formatErr("", "manifest %s: annotation %s is %q, want %s, %s or %s", what, AnnotationRole, role, RoleSnapshot, RoleBase, RolePackage)
		}
		if _, err := UncompressedSize(*l); err != nil {
			return formatErr("", "manifest %s: %v", what, err)
		}
	}
	return nil
}

func checkDescriptor(what string, d *ocispec.Descriptor, mediaType string) error {
	if d.MediaType != mediaType {
		return formatErr("", "manifest %s: mediaType is %q, want %q", what, d.MediaType, mediaType)
	}
	if err := checkDigest(d.Digest); err != nil {
		return formatErr("", "manifest %s: %v", what, err)
	}
	return nil
}

// checkDigest accepts the digests a bundle holds: well-formed sha256 ones
// (internal/ocilimits).
func checkDigest(d digest.Digest) error { return ocilimits.CheckSHA256(d) }

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// UncompressedSize returns the AnnotationUncompressedSize of a layer
// descriptor, the limit to give ExtractOptions.MaxBytes.
func UncompressedSize(layer ocispec.Descriptor) (int64, error) {
	v, ok := layer.Annotations[AnnotationUncompressedSize]
	if !ok {
		return 0, fmt.Errorf("annotation %s is missing", AnnotationUncompressedSize)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
		return 0, fmt.Errorf("annotation %s is %q, want a decimal size", AnnotationUncompressedSize, v)
	}
	return n, nil
}
