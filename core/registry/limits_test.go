package registry

import (
	"encoding/json"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/internal/ocilimits"
)

// TestManifestLimitsAreTheBundles: the registry accepts a manifest with as
// many layers as a bundle may hold and refuses one layer more, with the
// limits of internal/ocilimits that core/bundle applies too.
func TestManifestLimitsAreTheBundles(t *testing.T) {
	// A layer descriptor as core/bundle writes one (its annotation keys).
	d := ocispec.Descriptor{MediaType: "application/vnd.starwhale.runtime.layer.v1.tar+zstd", Digest: digest.FromString("x"), Size: 123456789,
		Annotations: map[string]string{"org.starwhale.runtime.layer.role": "package",
			"org.starwhale.runtime.layer.package":           "a-rather-long-package-name==10.20.30",
			"org.starwhale.runtime.layer.uncompressed-size": "1234567890"}}
	build := func(n int) []byte { return manifestOf(t, d, n) }
	big := build(ocilimits.MaxLayers)
	require.Less(t, len(big), ocilimits.MaxManifestSize, "MaxLayers layers fit in the size limit")
	_, err := parseManifest(big)
	require.NoError(t, err)

	_, err = parseManifest(build(ocilimits.MaxLayers + 1))
	var mi *ManifestInvalidError
	require.ErrorAs(t, err, &mi)
	assert.Contains(t, err.Error(), "10001 layers, at most 10000 are allowed")
}

// TestOCIManifestLimits: a manifest pushed through the OCI API
// (parseAnyManifest) meets the same limits as PutVersion's: at most
// MaxLayers layers (or index entries), digests by ocilimits.CheckDigest.
func TestOCIManifestLimits(t *testing.T) {
	d := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromString("x"), Size: 1}
	image := func(n int) []byte { return manifestOf(t, d, n) }
	_, err := parseAnyManifest(image(ocilimits.MaxLayers), "")
	require.NoError(t, err)
	_, err = parseAnyManifest(image(ocilimits.MaxLayers+1), "")
	var mi *ManifestInvalidError
	require.ErrorAs(t, err, &mi)
	assert.Contains(t, err.Error(), "10001 layers, at most 10000 are allowed")

	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: make([]ocispec.Descriptor, ocilimits.MaxLayers+1)}
	idx.SchemaVersion = 2
	for i := range idx.Manifests {
		idx.Manifests[i] = d
	}
	b, err := json.Marshal(idx)
	require.NoError(t, err)
	_, err = parseAnyManifest(b, "")
	require.ErrorAs(t, err, &mi)
	assert.Contains(t, err.Error(), "10001 manifests, at most 10000 are allowed")

	bad := d
	bad.Digest = "sha256:ABC"
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: bad}
	m.SchemaVersion = 2
	b, err = json.Marshal(m)
	require.NoError(t, err)
	_, err = parseAnyManifest(b, "")
	require.ErrorAs(t, err, &mi)
	_, err2 := parseManifest(b)
	require.ErrorAs(t, err2, &mi)
	assert.Equal(t, err.Error(), err2.Error(), "both readers say the same about a bad digest")
}

// manifestOf is an image manifest whose config and n layers are d.
func manifestOf(t *testing.T, d ocispec.Descriptor, n int) []byte {
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: d, Layers: make([]ocispec.Descriptor, n)}
	m.SchemaVersion = 2
	for i := range m.Layers {
		m.Layers[i] = d
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}
