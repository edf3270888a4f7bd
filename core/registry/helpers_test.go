package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

var ctx = context.Background()

func newFS(t testing.TB) *store.FS {
	t.Helper()
	s, err := store.NewFS(t.TempDir())
	require.NoError(t, err)
	return s
}

func newRegistry(t testing.TB) (*registry.Registry, *store.FS) {
	s := newFS(t)
	return registry.New(s), s
}

func putBlob(t testing.TB, r *registry.Registry, content string) ocispec.Descriptor {
	t.Helper()
	d, err := r.PutBlob(ctx, bytes.NewReader([]byte(content)), "")
	require.NoError(t, err)
	return d
}

// manifestOf builds an OCI image manifest for already stored blobs.
func manifestOf(t testing.TB, config ocispec.Descriptor, layers []ocispec.Descriptor, annotations map[string]string) []byte {
	t.Helper()
	config.MediaType = "application/vnd.starwhale.runtime.config.v1+json"
	for i := range layers {
		layers[i].MediaType = ocispec.MediaTypeImageLayer
	}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.starwhale.runtime.v1",
		Config:       config,
		Layers:       layers,
		Annotations:  annotations,
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// fakeManifest stores a config and layers made from seed and returns a
// manifest referencing them.
func fakeManifest(t testing.TB, r *registry.Registry, seed string, layers ...string) []byte {
	t.Helper()
	config := putBlob(t, r, `{"name":"`+seed+`"}`)
	var ls []ocispec.Descriptor
	for _, l := range layers {
		ls = append(ls, putBlob(t, r, l))
	}
	return manifestOf(t, config, ls, nil)
}

func build(t testing.TB, r *registry.Registry, project, name, seed string, tags ...string) registry.Version {
	t.Helper()
	v, err := r.PutVersion(ctx, project, name, fakeManifest(t, r, seed, "layer of "+seed, "shared layer"), tags)
	require.NoError(t, err)
	return v
}

// collidingManifests returns two manifests (over the same stored blobs)
// whose digests share their first 4 hex characters.
func collidingManifests(t testing.TB, r *registry.Registry) ([]byte, []byte) {
	t.Helper()
	config := putBlob(t, r, "config")
	seen := map[string][]byte{}
	for i := 0; ; i++ {
		m := manifestOf(t, config, nil, map[string]string{"n": fmt.Sprint(i)})
		p := digest.FromBytes(m).Encoded()[:4]
		if other, ok := seen[p]; ok {
			return other, m
		}
		seen[p] = m
	}
}

func tagsOf(t testing.TB, r *registry.Registry, project, name, ref string) []string {
	t.Helper()
	v, err := r.Resolve(ctx, project, name, ref)
	require.NoError(t, err)
	return v.Tags
}
