package registry_test

import (
	"bytes"
	"sort"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

// Checkable names exactly the blobs, leases and links a real PutVersion
// writes (and each one's verify passes what the registry wrote), never a
// record, a tag or the counter; a damaged blob or link fails its verify.
func TestCheckableKeysOfAVersion(t *testing.T) {
	s, err := store.NewFS(t.TempDir(), store.Deferred(registry.Checkable))
	require.NoError(t, err)
	r := registry.New(s)
	build(t, r, "self", "rt", "one", "mytag")
	require.NoError(t, r.LeaseBlob(ctx, putBlob(t, r, "leased").Digest))

	kinds := map[string][]string{}
	require.NoError(t, s.List(ctx, "", func(i store.Info) error {
		verify, ok := registry.Checkable(i.Key)
		kind := strings.SplitN(i.Key, "/", 2)[0]
		if strings.Contains(i.Key, "/links/") {
			kind = "links"
		}
		if !ok {
			kinds["synced"] = append(kinds["synced"], i.Key)
			return nil
		}
		kinds[kind] = append(kinds[kind], i.Key)
		rc, err := s.Get(ctx, i.Key, 0, -1)
		require.NoError(t, err)
		defer rc.Close()
		assert.NoError(t, verify(rc), "%s as the registry wrote it", i.Key)
		return nil
	}))
	assert.Len(t, kinds["blobs"], 5, "config, two layers, manifest, the leased blob")
	assert.Len(t, kinds["links"], 4, "the manifest and every blob it references")
	assert.NotEmpty(t, kinds["leases"])
	var synced []string
	for _, k := range kinds["synced"] {
		synced = append(synced, k[strings.LastIndex(k, "/rt/")+4:])
	}
	sort.Strings(synced)
	require.Len(t, synced, 5)
	assert.Equal(t, []string{"counter", "tags/latest", "tags/mytag", "tags/v0"}, synced[:4])
	assert.True(t, strings.HasPrefix(synced[4], "versions/"), synced[4])

	blob := kinds["blobs"][0]
	verify, _ := registry.Checkable(blob)
	assert.Error(t, verify(strings.NewReader("")), "an empty blob")
	verify, _ = registry.Checkable(kinds["links"][0])
	assert.Error(t, verify(strings.NewReader("")), "an empty link")
	assert.Error(t, verify(bytes.NewReader([]byte("{}\n{}"))), "a link with more")

	for _, k := range []string{
		"blobs/sha256/nothex", "blobs/md5/" + strings.Repeat("a", 32), "leases/sha256/abc",
		"projects/self/widgets/rt/links/sha256/" + strings.Repeat("a", 64),
		"projects/self/runtimes/rt/versions/" + strings.Repeat("a", 64),
		"uploads/x/session",
	} {
		_, ok := registry.Checkable(k)
		assert.False(t, ok, k)
	}
}

// What Checkable's comment relies on for links: a link that recovery
// deleted comes back when the version is put again (a re-copy or rebuild
// of it), so the OCI view of the repository is whole again.
func TestPutVersionAgainRemakesALostLink(t *testing.T) {
	s, err := store.NewFS(t.TempDir(), store.Deferred(registry.Checkable))
	require.NoError(t, err)
	r := registry.New(s)
	m := fakeManifest(t, r, "one", "layer a", "layer b")
	v, err := r.PutVersion(ctx, "self", "rt", m, nil)
	require.NoError(t, err)
	var links []string
	require.NoError(t, s.List(ctx, "projects/self/runtimes/rt/links/", func(i store.Info) error {
		links = append(links, i.Key)
		return nil
	}))
	require.Len(t, links, 4)
	require.NoError(t, s.Delete(ctx, links[1]))
	lost := links[1][strings.LastIndex(links[1], "/")+1:]
	_, err = r.BlobLinked(ctx, "self", "rt", digestOf(t, "sha256:"+lost))
	require.Error(t, err)

	again, err := r.PutVersion(ctx, "self", "rt", m, nil)
	require.NoError(t, err)
	assert.Equal(t, v.Digest, again.Digest)
	_, err = r.BlobLinked(ctx, "self", "rt", digestOf(t, "sha256:"+lost))
	assert.NoError(t, err, "linked again")
}

func digestOf(t *testing.T, s string) digest.Digest {
	t.Helper()
	d, err := digest.Parse(s)
	require.NoError(t, err)
	return d
}
