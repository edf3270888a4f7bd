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

// TestManifestLimitsAreTheBundles: the registry accepts the manifests a
// bundle may hold (more than distribution's 4 MiB) and refuses one layer
// more than a bundle may have, with the limits of internal/ocilimits.
func TestManifestLimitsAreTheBundles(t *testing.T) {
	d := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromString("x"), Size: 1,
		Annotations: map[string]string{"io.swcli.layer.role": "package", "io.swcli.layer.package": "a-rather-long-package-name"}}
	build := func(n int) []byte {
		m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: d, Layers: make([]ocispec.Descriptor, n)}
		m.SchemaVersion = 2
		for i := range m.Layers {
			m.Layers[i] = d
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	big := build(ocilimits.MaxLayers)
	require.Greater(t, len(big), 4<<20)
	require.Less(t, len(big), ocilimits.MaxManifestSize)
	_, err := parseManifest(big)
	require.NoError(t, err)

	_, err = parseManifest(build(ocilimits.MaxLayers + 1))
	var mi *ManifestInvalidError
	require.ErrorAs(t, err, &mi)
	assert.Contains(t, err.Error(), "100001 layers, at most 100000 are allowed")
}
