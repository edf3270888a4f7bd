package registry_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

func TestPutVersion(t *testing.T) {
	r, _ := newRegistry(t)
	m0 := fakeManifest(t, r, "zero", "layer a", "layer b", "layer a")
	v0, err := r.PutVersion(ctx, "self", "mnist", m0, []string{"first"})
	require.NoError(t, err)
	assert.Equal(t, digest.FromBytes(m0), v0.Digest)
	assert.Equal(t, v0.Digest.Encoded()[:12], v0.Short)
	assert.Equal(t, 0, v0.Number)
	assert.Equal(t, []string{"v0", "latest", "first"}, v0.Tags)
	assert.Equal(t, "self", v0.Project)
	assert.Equal(t, "mnist", v0.Name)
	assert.False(t, v0.Created.IsZero())
	assert.Equal(t, "UTC", v0.Created.Location().String())
	// manifest + config + distinct layers
	wantSize := int64(len(m0)) + int64(len(`{"name":"zero"}`)) + int64(len("layer a")+len("layer b"))
	assert.Equal(t, wantSize, v0.Size)
	assert.Equal(t, v0.Short+" (v0, latest, first)", v0.String())

	v1 := build(t, r, "self", "mnist", "one")
	assert.Equal(t, 1, v1.Number)
	assert.Equal(t, []string{"v1", "latest"}, v1.Tags)
	assert.Equal(t, []string{"v0", "first"}, tagsOf(t, r, "self", "mnist", "v0"))

	got, err := r.Manifest(ctx, v0)
	require.NoError(t, err)
	assert.Equal(t, m0, got)
	has, err := r.HasBlob(ctx, v0.Digest)
	require.NoError(t, err)
	assert.True(t, has, "the manifest is a blob")
}

func TestPutVersionIdempotent(t *testing.T) {
	r, _ := newRegistry(t)
	m0 := fakeManifest(t, r, "zero")
	v0, err := r.PutVersion(ctx, "self", "mnist", m0, nil)
	require.NoError(t, err)
	build(t, r, "self", "mnist", "one")

	again, err := r.PutVersion(ctx, "self", "mnist", m0, []string{"again"})
	require.NoError(t, err)
	assert.Equal(t, v0.Digest, again.Digest)
	assert.Equal(t, 0, again.Number, "no new number")
	assert.Equal(t, v0.Created, again.Created)
	assert.Equal(t, []string{"v0", "latest", "again"}, again.Tags, "latest moves back, the tag is added")

	vs, err := r.ListVersions(ctx, "self", "mnist", true)
	require.NoError(t, err)
	assert.Len(t, vs, 2)
	v2 := build(t, r, "self", "mnist", "two")
	assert.Equal(t, 2, v2.Number)
}

func TestPutVersionErrors(t *testing.T) {
	r, s := newRegistry(t)
	config := putBlob(t, r, "cfg")
	missing := ocispec.Descriptor{Digest: digest.FromString("not stored"), Size: 10}
	_, err := r.PutVersion(ctx, "self", "mnist", manifestOf(t, config, []ocispec.Descriptor{missing}, nil), nil)
	var mb *registry.MissingBlobsError
	require.ErrorAs(t, err, &mb)
	assert.Equal(t, []digest.Digest{missing.Digest}, mb.Digests)
	assert.Contains(t, err.Error(), missing.Digest.String())

	wrongSize := config
	wrongSize.Size++
	_, err = r.PutVersion(ctx, "self", "mnist", manifestOf(t, wrongSize, nil, nil), nil)
	var mi *registry.ManifestInvalidError
	require.ErrorAs(t, err, &mi)

	for _, bad := range []string{
		`not json`,
		`{"schemaVersion":1,"config":{"digest":"` + config.Digest.String() + `","size":3}}`,
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`,
		`{"schemaVersion":2,"config":{"digest":"sha256:zz","size":3}}`,
	} {
		_, err = r.PutVersion(ctx, "self", "mnist", []byte(bad), nil)
		assert.ErrorAs(t, err, &mi, bad)
	}

	var rt *registry.ReservedTagError
	_, err = r.PutVersion(ctx, "self", "mnist", manifestOf(t, config, nil, nil), []string{"ok", "v7"})
	require.ErrorAs(t, err, &rt)
	assert.Equal(t, "v7", rt.Tag)

	var in *registry.InvalidNameError
	for _, pn := range [][2]string{{"a/b", "x"}, {"self", ".."}, {"", "x"}, {"self", "a b"}} {
		_, err = r.PutVersion(ctx, pn[0], pn[1], manifestOf(t, config, nil, nil), nil)
		assert.ErrorAs(t, err, &in, "%q", pn)
	}

	// Nothing but the config blob was written.
	var keys []string
	require.NoError(t, s.List(ctx, "projects/", func(info store.Info) error {
		keys = append(keys, info.Key)
		return nil
	}))
	assert.Empty(t, keys)
}

func TestResolve(t *testing.T) {
	r, _ := newRegistry(t)
	v0 := build(t, r, "self", "mnist", "zero", "stable")
	v1 := build(t, r, "self", "mnist", "one")

	for ref, want := range map[string]registry.Version{
		"latest":                      v1,
		"v0":                          v0,
		"v1":                          v1,
		"stable":                      v0,
		v0.Digest.Encoded():           v0,
		v0.Digest.String():            v0,
		v0.Short:                      v0,
		v1.Digest.Encoded()[:20]:      v1,
		"sha256:" + v1.Short:          v1,
		strings.ToUpper(v1.Short[:8]): v1,
	} {
		got, err := r.Resolve(ctx, "self", "mnist", ref)
		if assert.NoError(t, err, ref) {
			assert.Equal(t, want.Digest, got.Digest, ref)
		}
	}

	_, err := r.Resolve(ctx, "self", "mnist", "nope")
	var nf *registry.NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, "nope", nf.Ref)
	assert.Equal(t, []string{v1.Short + " (v1, latest)", v0.Short + " (v0, stable)"}, nf.Existing)
	assert.Equal(t, "runtime mnist has no version nope; versions: "+v1.Short+" (v1, latest), "+v0.Short+" (v0, stable)", err.Error())

	_, err = r.Resolve(ctx, "self", "mnist", "v9")
	assert.ErrorAs(t, err, &nf)

	_, err = r.Resolve(ctx, "self", "other", "latest")
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, "", nf.Ref)
	assert.Equal(t, "project self has no runtime other; runtimes: mnist", err.Error())

	var in *registry.InvalidNameError
	for _, ref := range []string{"", "a/b", "sha256:xyz!", "-x"} {
		_, err = r.Resolve(ctx, "self", "mnist", ref)
		assert.ErrorAs(t, err, &in, ref)
	}
}

func TestResolveAmbiguous(t *testing.T) {
	r, _ := newRegistry(t)
	ma, mb := collidingManifests(t, r)
	va, err := r.PutVersion(ctx, "self", "amb", ma, nil)
	require.NoError(t, err)
	vb, err := r.PutVersion(ctx, "self", "amb", mb, nil)
	require.NoError(t, err)
	prefix := va.Digest.Encoded()[:4]
	_, err = r.Resolve(ctx, "self", "amb", prefix)
	var ae *registry.AmbiguousError
	require.ErrorAs(t, err, &ae)
	assert.ElementsMatch(t, []string{va.Short, vb.Short}, ae.Candidates)
	assert.Contains(t, err.Error(), "ambiguous")

	// A longer prefix, or removing one of them, resolves it.
	got, err := r.Resolve(ctx, "self", "amb", va.Short)
	require.NoError(t, err)
	assert.Equal(t, va.Digest, got.Digest)
	require.NoError(t, r.Remove(ctx, "self", "amb", vb.Short, false))
	got, err = r.Resolve(ctx, "self", "amb", prefix)
	require.NoError(t, err)
	assert.Equal(t, va.Digest, got.Digest)
	// Recover prefers the removed one.
	rec, err := r.Recover(ctx, "self", "amb", prefix)
	require.NoError(t, err)
	assert.Equal(t, vb.Digest, rec.Digest)
}

func TestListVersionsAndRuntimes(t *testing.T) {
	r, _ := newRegistry(t)
	build(t, r, "self", "mnist", "a")
	build(t, r, "self", "mnist", "b", "prod")
	c := build(t, r, "self", "mnist", "c")
	only := build(t, r, "self", "cifar", "x")
	build(t, r, "other", "mnist", "a") // another project

	vs, err := r.ListVersions(ctx, "self", "mnist", false)
	require.NoError(t, err)
	require.Len(t, vs, 3)
	assert.Equal(t, []int{2, 1, 0}, []int{vs[0].Number, vs[1].Number, vs[2].Number})
	assert.Equal(t, []string{"v2", "latest"}, vs[0].Tags)
	assert.Equal(t, []string{"v1", "prod"}, vs[1].Tags)
	assert.Equal(t, []string{"v0"}, vs[2].Tags)

	rts, err := r.ListRuntimes(ctx, "self", false)
	require.NoError(t, err)
	require.Len(t, rts, 2)
	assert.Equal(t, "cifar", rts[0].Name)
	assert.Equal(t, 1, rts[0].Versions)
	assert.Equal(t, only.Digest, rts[0].Latest.Digest)
	assert.Equal(t, "mnist", rts[1].Name)
	assert.Equal(t, 3, rts[1].Versions)
	assert.Equal(t, c.Digest, rts[1].Latest.Digest)

	require.NoError(t, r.Remove(ctx, "self", "cifar", "latest", false))
	rts, err = r.ListRuntimes(ctx, "self", false)
	require.NoError(t, err)
	assert.Len(t, rts, 1, "a runtime with every version removed is hidden")
	rts, err = r.ListRuntimes(ctx, "self", true)
	require.NoError(t, err)
	require.Len(t, rts, 2)
	assert.True(t, rts[0].Latest.Removed)

	rts, err = r.ListRuntimes(ctx, "empty", false)
	require.NoError(t, err)
	assert.Empty(t, rts)

	_, err = r.ListVersions(ctx, "self", "nope", false)
	var nf *registry.NotFoundError
	assert.ErrorAs(t, err, &nf)

	// JSON for -o json.
	b, err := json.Marshal(vs[1])
	require.NoError(t, err)
	assert.Contains(t, string(b), `"tags":["v1","prod"]`)
	assert.NotContains(t, string(b), "removed")
}

func TestCrashLeftovers(t *testing.T) {
	r, s := newRegistry(t)
	v0 := build(t, r, "self", "mnist", "zero")
	// A crash after the counter and the vN tag, before the record.
	ghost := digest.FromString("never recorded")
	require.NoError(t, s.Put(ctx, "projects/self/runtimes/mnist/tags/v5",
		bytes.NewReader([]byte(`{"digest":"`+ghost.String()+`"}`)), store.PutOptions{}))
	// A latest left pointing nowhere.
	require.NoError(t, s.Put(ctx, "projects/self/runtimes/mnist/tags/latest",
		bytes.NewReader([]byte(`{"digest":"`+ghost.String()+`"}`)), store.PutOptions{}))

	vs, err := r.ListVersions(ctx, "self", "mnist", true)
	require.NoError(t, err)
	require.Len(t, vs, 1)
	assert.Equal(t, []string{"v0", "latest"}, vs[0].Tags, "latest falls back to the newest version")
	got, err := r.Resolve(ctx, "self", "mnist", "latest")
	require.NoError(t, err)
	assert.Equal(t, v0.Digest, got.Digest)
	_, err = r.Resolve(ctx, "self", "mnist", "v5")
	var nf *registry.NotFoundError
	assert.ErrorAs(t, err, &nf)

	// The next build never reuses a number it saw, and repairs latest.
	v := build(t, r, "self", "mnist", "one")
	assert.Greater(t, v.Number, 0)
	assert.Equal(t, []string{"v" + itoa(v.Number), "latest"}, v.Tags)
}

func itoa(n int) string { return strings.TrimSpace(string(must(json.Marshal(n)))) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
