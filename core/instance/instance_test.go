package instance_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/uri"
)

var ctx = context.Background()

// fixture is a local instance holding runtime "rt" in project "self": one
// version made of a real snapshot layer (so a .swrt of it passes the file
// checks) plus a config.
type fixture struct {
	local    *instance.Local
	v        instance.Version
	layer    ocispec.Descriptor
	manifest []byte
}

func newLocal(t *testing.T) *instance.Local {
	t.Helper()
	l, err := instance.OpenLocal(t.TempDir())
	require.NoError(t, err)
	return l
}

func newFixture(t *testing.T, content string) *fixture {
	t.Helper()
	l := newLocal(t)
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "runtime.yaml"), []byte(content), 0o644))
	var buf bytes.Buffer
	info, err := bundle.PackLayer(ctx, &buf, src, []string{"runtime.yaml"}, bundle.PackOptions{})
	require.NoError(t, err)
	layer := bundle.LayerDescriptor(info, bundle.RoleSnapshot, "")
	reg := l.Registry()
	_, err = reg.PutBlob(ctx, bytes.NewReader(buf.Bytes()), layer.Digest)
	require.NoError(t, err)
	config := []byte(`{"name":"rt","note":"` + content + `"}`)
	cd := bundle.ConfigDescriptor(config)
	_, err = reg.PutBlob(ctx, bytes.NewReader(config), cd.Digest)
	require.NoError(t, err)
	m, err := bundle.Manifest(cd, []ocispec.Descriptor{layer}, nil)
	require.NoError(t, err)
	v, err := l.PutManifest(ctx, "self", "rt", m, []string{"prod"})
	require.NoError(t, err)
	return &fixture{local: l, v: v, layer: layer, manifest: m}
}

func TestCopyBetweenProjectsCarriesTagsAndGivesOwnNumbers(t *testing.T) {
	f := newFixture(t, "a")
	l := f.local
	// The destination project has a version of its own tagged prod.
	other := newFixture(t, "b")
	_, err := instance.Copy(ctx, other.local, instance.Ref{Name: "rt"}, l, instance.Ref{Project: "team"}, instance.CopyOptions{})
	require.NoError(t, err)

	res, err := instance.Copy(ctx, l, instance.Ref{Name: "rt", Version: "prod"}, l, instance.Ref{Project: "team"}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, f.v.Digest, res.Version.Digest)
	assert.Equal(t, "team", res.Version.Project)
	assert.Equal(t, 1, res.Version.Number, "vN is given afresh at the destination")
	assert.Equal(t, []string{"v1", "latest"}, res.Version.Tags, "latest moved; prod stays on the other version")
	assert.Equal(t, []string{"prod"}, res.TagsKept)
	assert.Equal(t, 0, res.Copied, "one store: every blob is there already")

	res, err = instance.Copy(ctx, l, instance.Ref{Name: "rt", Version: "prod"}, l, instance.Ref{Project: "team"}, instance.CopyOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"v1", "latest", "prod"}, res.Version.Tags, "--force moves the carried tag")
	assert.Empty(t, res.TagsKept)
}

func TestCopyOnlyMissingBlobsAndResumes(t *testing.T) {
	f := newFixture(t, "resume me")
	dst := newLocal(t)
	// An earlier copy stopped after half of the layer.
	w, err := dst.Writer(ctx, f.layer)
	require.NoError(t, err)
	rc, err := f.local.Get(ctx, f.layer.Digest, 0)
	require.NoError(t, err)
	half := f.layer.Size / 2
	buf := make([]byte, half)
	_, err = rc.Read(buf)
	require.NoError(t, err)
	rc.Close()
	_, err = w.Write(buf)
	require.NoError(t, err)
	require.NoError(t, w.Close())

	res, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Blobs)
	assert.Equal(t, 2, res.Copied)
	cfgSize := res.BytesCopied - (f.layer.Size - half)
	m, err := bundle.ParseManifest(f.manifest)
	require.NoError(t, err)
	assert.Equal(t, m.Config.Size, cfgSize, "the layer resumed at its half: only the rest was sent")
	assert.Equal(t, []string{"v0", "latest", "prod"}, res.Version.Tags)

	// Again: nothing to send.
	res, err = instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, dst, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Copied)
}

func TestWriterRefusesWrongContent(t *testing.T) {
	f := newFixture(t, "x")
	dst := newLocal(t)
	w, err := dst.Writer(ctx, f.layer)
	require.NoError(t, err)
	_, err = w.Write(bytes.Repeat([]byte{'z'}, int(f.layer.Size)))
	require.NoError(t, err)
	var mm *registry.DigestMismatchError
	require.ErrorAs(t, w.Commit(ctx), &mm)
	require.NoError(t, w.Close())
	_, err = dst.Stat(ctx, f.layer.Digest)
	var bu *registry.BlobUnknownError
	require.ErrorAs(t, err, &bu, "nothing stored")
	// The bad partial content is gone: a new writer starts from 0.
	w, err = dst.Writer(ctx, f.layer)
	require.NoError(t, err)
	assert.Zero(t, w.Offset())
	require.NoError(t, w.Close())
}

func TestCopyThroughFile(t *testing.T) {
	f := newFixture(t, "via file")
	path := filepath.Join(t.TempDir(), "rt.swrt")
	out := instance.OpenFile(path, t.TempDir(), nil)
	defer out.Close()
	_, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, out, instance.Ref{}, instance.CopyOptions{Tags: []string{"x"}})
	var ue *instance.UnsupportedError
	require.ErrorAs(t, err, &ue, "a file keeps no tags")
	_, err = os.Stat(path)
	require.True(t, os.IsNotExist(err), "nothing written on failure")

	out = instance.OpenFile(path, t.TempDir(), nil)
	res, err := instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, out, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	require.NoError(t, out.Close())
	assert.Equal(t, f.v.Digest, res.Version.Digest)
	assert.Empty(t, res.TagsKept, "a file drops the carried tags")

	out = instance.OpenFile(path, t.TempDir(), nil)
	_, err = instance.Copy(ctx, f.local, instance.Ref{Name: "rt"}, out, instance.Ref{}, instance.CopyOptions{})
	var ee *instance.ExistsError
	require.ErrorAs(t, err, &ee)
	out.Close()

	dst := newLocal(t)
	in := instance.OpenFile(path, dst.TempDir(), nil)
	defer in.Close()
	info, err := in.Resolve(ctx, instance.Ref{Version: f.v.Short[:6]}, false)
	require.NoError(t, err)
	assert.Equal(t, "rt", info.Name)
	res, err = instance.Copy(ctx, in, instance.Ref{}, dst, instance.Ref{Project: "p"}, instance.CopyOptions{Tags: []string{"shared"}})
	require.NoError(t, err)
	assert.Equal(t, f.v.Digest, res.Version.Digest, "same version on every place")
	assert.Equal(t, []string{"v0", "latest", "shared"}, res.Version.Tags)
	raw, err := dst.Manifest(ctx, res.Version)
	require.NoError(t, err)
	assert.Equal(t, f.manifest, raw)

	_, err = in.Remove(ctx, instance.Ref{}, false)
	require.ErrorAs(t, err, &ue)
}

func TestRemoveWholeRuntime(t *testing.T) {
	f := newFixture(t, "one")
	other := newFixture(t, "two")
	_, err := instance.Copy(ctx, other.local, instance.Ref{Name: "rt"}, f.local, instance.Ref{}, instance.CopyOptions{})
	require.NoError(t, err)
	gone, err := f.local.Remove(ctx, instance.Ref{Name: "rt"}, false)
	require.NoError(t, err)
	assert.Len(t, gone, 2)
	vs, err := f.local.ListVersions(ctx, "self", "rt", false)
	require.NoError(t, err)
	assert.Empty(t, vs)
	v, err := f.local.Recover(ctx, instance.Ref{Name: "rt", Version: "prod"})
	require.NoError(t, err)
	assert.Equal(t, f.v.Digest, v.Digest)
	_, err = f.local.Remove(ctx, instance.Ref{Name: "nosuch"}, false)
	var nf *registry.NotFoundError
	require.ErrorAs(t, err, &nf)
}

func TestOpen(t *testing.T) {
	t.Setenv("SW_CLI_CONFIG", filepath.Join(t.TempDir(), "config.yaml"))
	cfg, err := instance.LoadConfig()
	require.NoError(t, err)
	cfg.Instances["prod"] = instance.Known{URI: "https://prod.example.com", Type: "cloud"}
	require.NoError(t, cfg.Save())

	o := &instance.Opener{StorageRoot: t.TempDir()}
	open := func(s string) (instance.Instance, error) {
		u, err := uri.Parse(s)
		require.NoError(t, err)
		return o.Open(ctx, u)
	}
	inst, err := open("local/project/self")
	require.NoError(t, err)
	assert.IsType(t, &instance.Local{}, inst)
	inst, err = open("x.swrt")
	require.NoError(t, err)
	assert.IsType(t, &instance.File{}, inst)

	for _, s := range []string{"prod/project/p", "cloud://prod/project/p", "http://127.0.0.1:9/project/p", "oci://127.0.0.1:9/project/p"} {
		_, err = open(s)
		var ue *instance.UnavailableError
		require.ErrorAs(t, err, &ue, s)
	}
	_, err = open("cloud://nosuch/project/p")
	var ua *instance.UnknownAliasError
	require.ErrorAs(t, err, &ua)
	assert.Equal(t, []string{"local", "prod"}, ua.Known)
	assert.False(t, errors.As(err, new(*instance.UnavailableError)))
}

// A large blob (written around the page cache, internal/directio) staged
// in odd-sized pieces, stopped at an unaligned offset, then resumed by a
// second writer, is stored whole and byte for byte; the first writer's
// Close kept every byte it had taken.
func TestLocalWriterResumesALargeBlob(t *testing.T) {
	l := newLocal(t)
	blob := make([]byte, 3<<20+123)
	for i := range blob {
		blob[i] = byte(i*7 + i>>11)
	}
	desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	w, err := l.Writer(ctx, desc)
	require.NoError(t, err)
	stop := int64(1<<20 + 4097)
	for off := int64(0); off < stop; {
		n := min(stop-off, 300_001)
		_, err := w.Write(blob[off : off+n])
		require.NoError(t, err)
		off += n
	}
	require.NoError(t, w.Close())

	w, err = l.Writer(ctx, desc)
	require.NoError(t, err)
	require.Equal(t, stop, w.Offset(), "the second writer resumes where the first stopped")
	_, err = w.Write(blob[stop:])
	require.NoError(t, err)
	require.NoError(t, w.Commit(ctx))
	require.NoError(t, w.Close())

	rc, err := l.Get(ctx, desc.Digest, 0)
	require.NoError(t, err)
	defer rc.Close()
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.True(t, bytes.Equal(blob, got), "stored bytes differ")
}
