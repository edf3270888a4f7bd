package registry_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
)

// linked stores content as a blob linked in self/name.
func linked(t *testing.T, r *registry.Registry, name, content string) ocispec.Descriptor {
	t.Helper()
	d := digest.FromString(content)
	desc, err := r.PutRepoBlob(ctx, "self", name, strings.NewReader(content), d)
	require.NoError(t, err)
	return desc
}

func indexOf(t *testing.T, subject *ocispec.Descriptor, artifactType string, ms ...ocispec.Descriptor) []byte {
	t.Helper()
	b, err := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
		ArtifactType: artifactType, Manifests: ms, Subject: subject})
	require.NoError(t, err)
	return b
}

func TestPutManifestTags(t *testing.T) {
	r, _ := newRegistry(t)
	cfg := linked(t, r, "app", `{"a":1}`)
	m1 := manifestOf(t, cfg, nil, map[string]string{"n": "1"})
	m2 := manifestOf(t, cfg, nil, map[string]string{"n": "2"})

	_, err := r.PutManifest(ctx, "self", "app", "v3", ocispec.MediaTypeImageManifest, m1)
	var rt *registry.ReservedTagError
	require.ErrorAs(t, err, &rt, "vN is given, never chosen")

	got, err := r.PutManifest(ctx, "self", "app", "prod", ocispec.MediaTypeImageManifest, m1)
	require.NoError(t, err)
	assert.Equal(t, digest.FromBytes(m1), got.Digest)
	_, err = r.PutManifest(ctx, "self", "app", "latest", "", m2)
	require.NoError(t, err)
	assert.Equal(t, []string{"v1", "latest"}, tagsOf(t, r, "self", "app", "latest"))
	// a user tag PUT moves the tag, as OCI registries do
	_, err = r.PutManifest(ctx, "self", "app", "prod", "", m2)
	require.NoError(t, err)
	assert.Equal(t, []string{"v1", "latest", "prod"}, tagsOf(t, r, "self", "app", "prod"))
	tags, err := r.OCITags(ctx, "self", "app")
	require.NoError(t, err)
	assert.Equal(t, []string{"latest", "prod", "v0", "v1"}, tags)

	// by digest: must match, sha512 too
	d512 := digest.SHA512.FromBytes(m1)
	got, err = r.PutManifest(ctx, "self", "app", d512.String(), "", m1)
	require.NoError(t, err)
	assert.Equal(t, d512, got.Digest)
	back, err := r.GetManifest(ctx, "self", "app", d512.String())
	require.NoError(t, err)
	assert.Equal(t, m1, back.Body)
	_, err = r.PutManifest(ctx, "self", "app", digest.FromString("other").String(), "", m1)
	var dm *registry.DigestMismatchError
	require.ErrorAs(t, err, &dm)

	// a tag that looks like a digest prefix is a tag, not a prefix
	_, err = r.GetManifest(ctx, "self", "app", got.Digest.Encoded()[:8])
	var nf *registry.NotFoundError
	require.ErrorAs(t, err, &nf)
}

func TestPutManifestReferences(t *testing.T) {
	r, _ := newRegistry(t)
	cfg := linked(t, r, "app", `{}`)
	// stored, but linked only in another repository
	other := linked(t, r, "other", "layer of other")
	_, err := r.PutManifest(ctx, "self", "app", "t", "", manifestOf(t, cfg, []ocispec.Descriptor{other}, nil))
	var mb *registry.MissingBlobsError
	require.ErrorAs(t, err, &mb)
	assert.Equal(t, []digest.Digest{other.Digest}, mb.Digests)
	_, err = r.Resolve(ctx, "self", "app", "t")
	assert.Error(t, err, "no version without its blobs")

	// a nondistributable layer is not checked
	foreign := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerNonDistributable, Digest: digest.FromString("far"), Size: 3} //nolint:staticcheck
	b, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: "x", Digest: cfg.Digest, Size: cfg.Size}, Layers: []ocispec.Descriptor{foreign}})
	img, err := r.PutManifest(ctx, "self", "app", "img", "", b)
	require.NoError(t, err)

	// an index needs its manifests as versions of the repository
	child := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: img.Digest, Size: int64(len(b))}
	missing := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 1}
	_, err = r.PutManifest(ctx, "self", "app", "idx", ocispec.MediaTypeImageIndex, indexOf(t, nil, "", child, missing))
	require.ErrorAs(t, err, &mb)
	assert.Equal(t, []digest.Digest{missing.Digest}, mb.Digests)
	idx := indexOf(t, nil, "", child)
	_, err = r.PutManifest(ctx, "self", "app", "idx", ocispec.MediaTypeImageIndex, idx)
	require.NoError(t, err)
	got, err := r.GetManifest(ctx, "self", "app", "idx")
	require.NoError(t, err)
	assert.Equal(t, ocispec.MediaTypeImageIndex, got.MediaType)

	// a content type that contradicts the body
	_, err = r.PutManifest(ctx, "self", "app", "x", ocispec.MediaTypeImageManifest, idx)
	var mi *registry.ManifestInvalidError
	require.ErrorAs(t, err, &mi)

	// GC keeps what an index and its children need, and sha512 blobs linked by an upload stay until unreferenced
	_, err = r.GC(ctx, registry.GracePeriod(0))
	require.NoError(t, err)
	for _, d := range []digest.Digest{cfg.Digest, img.Digest, digest.FromBytes(idx)} {
		has, err := r.HasBlob(ctx, d)
		require.NoError(t, err)
		assert.True(t, has, d)
	}
}

func TestReferrers(t *testing.T) {
	r, _ := newRegistry(t)
	cfg := linked(t, r, "app", `{}`)
	subject, err := r.PutManifest(ctx, "self", "app", "base", "", manifestOf(t, cfg, nil, nil))
	require.NoError(t, err)
	subj := &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: subject.Digest, Size: int64(len(subject.Body))}
	sig, err := r.PutManifest(ctx, "self", "app", "sig", "", indexOf(t, subj, "application/vnd.sig"))
	require.NoError(t, err)
	assert.Equal(t, subject.Digest, sig.Subject)
	// an image manifest: its artifactType (manifestOf sets one)
	m := manifestOf(t, cfg, nil, map[string]string{"k": "v"})
	var mm map[string]any
	require.NoError(t, json.Unmarshal(m, &mm))
	mm["subject"] = subj
	m, _ = json.Marshal(mm)
	sbom, err := r.PutManifest(ctx, "self", "app", "sbom", "", m)
	require.NoError(t, err)

	all, err := r.Referrers(ctx, "self", "app", subject.Digest, "")
	require.NoError(t, err)
	assert.Len(t, all, 2)
	only, err := r.Referrers(ctx, "self", "app", subject.Digest, "application/vnd.sig")
	require.NoError(t, err)
	require.Len(t, only, 1)
	assert.Equal(t, sig.Digest, only[0].Digest)
	assert.Equal(t, ocispec.MediaTypeImageIndex, only[0].MediaType)

	// a deleted referrer is no longer listed; other repositories see none
	require.NoError(t, r.DeleteManifest(ctx, "self", "app", sbom.Digest))
	all, err = r.Referrers(ctx, "self", "app", subject.Digest, "")
	require.NoError(t, err)
	assert.Len(t, all, 1)
	none, err := r.Referrers(ctx, "self", "other", subject.Digest, "")
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestBlobLinks(t *testing.T) {
	r, _ := newRegistry(t)
	d := linked(t, r, "a", "shared content")
	_, err := r.BlobLinked(ctx, "self", "b", d.Digest)
	var bu *registry.BlobUnknownError
	require.ErrorAs(t, err, &bu, "not readable where not linked")
	// linking needs the bytes: a wrong body under a known digest is refused
	_, err = r.PutRepoBlob(ctx, "self", "b", strings.NewReader("guess"), d.Digest)
	var dm *registry.DigestMismatchError
	require.ErrorAs(t, err, &dm)
	require.NoError(t, r.LinkBlob(ctx, "self", "b", d.Digest)) // a mount
	size, err := r.BlobLinked(ctx, "self", "b", d.Digest)
	require.NoError(t, err)
	assert.Equal(t, d.Size, size)
	require.NoError(t, r.UnlinkBlob(ctx, "self", "b", d.Digest))
	_, err = r.BlobLinked(ctx, "self", "b", d.Digest)
	require.ErrorAs(t, err, &bu)
	_, err = r.BlobLinked(ctx, "self", "a", d.Digest)
	require.NoError(t, err, "the other repository keeps it")

	// PutVersion links what it references
	v := build(t, r, "self", "built", "seed")
	m, err := r.GetManifest(ctx, "self", "built", "latest")
	require.NoError(t, err)
	assert.Equal(t, v.Digest, m.Digest)
	var man ocispec.Manifest
	require.NoError(t, json.Unmarshal(m.Body, &man))
	for _, l := range append(man.Layers, man.Config) {
		_, err := r.BlobLinked(ctx, "self", "built", l.Digest)
		assert.NoError(t, err)
	}
}

func TestUploadSessions(t *testing.T) {
	layouts(t, testUploadSessions)
}

func testUploadSessions(t *testing.T, wrap func(store.Store, *store.FS) store.Store) {
	fs := newFS(t)
	s := wrap(fs, fs)
	r := registry.New(s)
	other := registry.New(s) // another server on the same store
	data := bytes.Repeat([]byte("abcdefgh"), 1000)
	d := digest.SHA512.FromBytes(data)
	u, err := r.StartUpload(ctx, "self", "app")
	require.NoError(t, err)

	_, err = r.AppendUpload(ctx, "self", "app", u.ID, 0, bytes.NewReader(data[:3000]))
	require.NoError(t, err)
	// a chunk whose reader fails stores nothing of it (chunks), or what
	// arrived (append): the session's size says which
	_, isAppend := s.(store.Appender)
	have := int64(3000)
	if isAppend {
		have = 4000
	}
	_, err = r.AppendUpload(ctx, "self", "app", u.ID, 3000, io.MultiReader(bytes.NewReader(data[3000:4000]), failing{}))
	require.Error(t, err)
	got, err := other.GetUpload(ctx, "self", "app", u.ID)
	require.NoError(t, err)
	assert.Equal(t, have, got.Size)
	_, err = other.AppendUpload(ctx, "self", "app", u.ID, 2000, bytes.NewReader(data[2000:]))
	var re *registry.UploadRangeError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, have, re.Size)
	_, err = other.AppendUpload(ctx, "self", "app", u.ID, -1, bytes.NewReader(data[have:]))
	require.NoError(t, err)

	// another repository does not see the session
	_, err = r.GetUpload(ctx, "self", "elsewhere", u.ID)
	var uu *registry.UploadUnknownError
	require.ErrorAs(t, err, &uu)

	_, err = r.FinishUpload(ctx, "self", "app", u.ID, digest.SHA512.FromString("no"))
	var dm *registry.DigestMismatchError
	require.ErrorAs(t, err, &dm)
	desc, err := other.FinishUpload(ctx, "self", "app", u.ID, d)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), desc.Size)
	rc, _, err := r.GetBlob(ctx, d)
	require.NoError(t, err)
	back, _ := io.ReadAll(rc)
	rc.Close()
	assert.Equal(t, data, back)
	_, err = r.GetUpload(ctx, "self", "app", u.ID)
	require.ErrorAs(t, err, &uu, "finished sessions are gone")
	for _, id := range []string{"../x", "ABC", strings.Repeat("a", 31)} {
		_, err = r.GetUpload(ctx, "self", "app", id)
		require.ErrorAs(t, err, &uu, id)
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, fmt.Errorf("connection reset") }

func TestExpireUploads(t *testing.T) {
	r, s := newRegistry(t)
	old, err := r.StartUpload(ctx, "self", "app")
	require.NoError(t, err)
	_, err = r.AppendUpload(ctx, "self", "app", old.ID, 0, strings.NewReader("part"))
	require.NoError(t, err)
	n, err := r.ExpireUploads(ctx, time.Hour)
	require.NoError(t, err)
	assert.Zero(t, n, "a young session stays")
	n, err = r.ExpireUploads(ctx, -time.Second)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	var left []string
	require.NoError(t, s.List(ctx, "uploads/", func(i store.Info) error { left = append(left, i.Key); return nil }))
	assert.Empty(t, left)
	_, err = r.GetUpload(ctx, "self", "app", old.ID)
	var uu *registry.UploadUnknownError
	assert.ErrorAs(t, err, &uu)
}

func TestPutManifestTagParams(t *testing.T) {
	r, _ := newRegistry(t)
	cfg := linked(t, r, "app", `{}`)
	m := manifestOf(t, cfg, nil, nil)
	d := digest.FromBytes(m)
	_, err := r.PutManifest(ctx, "self", "app", d.String(), "", m, "v2")
	var rt *registry.ReservedTagError
	require.ErrorAs(t, err, &rt)
	_, err = r.Resolve(ctx, "self", "app", "latest")
	require.Error(t, err, "a refused tag leaves nothing behind")
	got, err := r.PutManifest(ctx, "self", "app", d.String(), "", m, "a", "b", "latest")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, got.Tags)
	assert.Equal(t, []string{"v0", "latest", "a", "b"}, tagsOf(t, r, "self", "app", "a"))
}
