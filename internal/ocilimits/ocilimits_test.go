package ocilimits

import (
	"encoding/json"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckDigest(t *testing.T) {
	sha256 := digest.FromString("x")
	sha512 := digest.SHA512.FromString("x")
	require.NoError(t, CheckDigest(sha256))
	require.NoError(t, CheckDigest(sha512))
	require.NoError(t, CheckSHA256(sha256))
	assert.ErrorContains(t, CheckSHA256(sha512), "is not sha256")
	for _, bad := range []digest.Digest{"", "sha256:abc", digest.Digest("sha256:" + strings.ToUpper(sha256.Encoded())), "md5:d41d8cd98f00b204e9800998ecf8427e", "sha384:" + digest.Digest(strings.Repeat("a", 96))} {
		err := CheckDigest(bad)
		var e *Error
		assert.ErrorAs(t, err, &e, "%q", bad)
	}
}

func TestParseImageManifest(t *testing.T) {
	d := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromString("x"), Size: 1}
	good := func() ocispec.Manifest {
		m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: d, Layers: []ocispec.Descriptor{d}}
		m.SchemaVersion = 2
		return m
	}
	enc := func(m ocispec.Manifest) []byte {
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	m, err := ParseImageManifest(enc(good()))
	require.NoError(t, err)
	assert.Equal(t, d, m.Layers[0])
	noType := good()
	noType.MediaType = ""
	_, err = ParseImageManifest(enc(noType))
	require.NoError(t, err, "mediaType may be absent")

	cases := map[string]func(m *ocispec.Manifest){
		"schemaVersion is 1":  func(m *ocispec.Manifest) { m.SchemaVersion = 1 },
		"mediaType is":        func(m *ocispec.Manifest) { m.MediaType = ocispec.MediaTypeImageIndex },
		"layer 0: size is -1": func(m *ocispec.Manifest) { m.Layers[0].Size = -1 },
		"config: digest":      func(m *ocispec.Manifest) { m.Config.Digest = "sha256:x" },
		"10001 layers": func(m *ocispec.Manifest) {
			m.Layers = make([]ocispec.Descriptor, MaxLayers+1)
			for i := range m.Layers {
				m.Layers[i] = d
			}
		},
	}
	for want, break_ := range cases {
		m := good()
		break_(&m)
		_, err := ParseImageManifest(enc(m))
		var e *Error
		require.ErrorAs(t, err, &e, want)
		assert.Contains(t, err.Error(), want)
	}
	_, err = ParseImageManifest(append(enc(good()), []byte(" {}")...))
	assert.ErrorContains(t, err, "data after the JSON object")
	_, err = ParseImageManifest([]byte("{"))
	assert.ErrorContains(t, err, "not valid JSON")
	_, err = ParseImageManifest(make([]byte, MaxManifestSize+1))
	assert.ErrorContains(t, err, "larger than")
}
