package artifact_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/artifact"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/uri"
)

var ctx = context.Background()

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

// modelDir makes a model folder: model.yaml, 300 small files, one large
// file, and files .swignore leaves out.
func modelDir(t *testing.T, name string) string {
	dir := t.TempDir()
	write(t, dir, "model.yaml", "name: "+name+"\nrun:\n  handler: python evaluate.py\n")
	write(t, dir, "evaluate.py", "print('hi')\n")
	for i := range 300 {
		write(t, dir, fmt.Sprintf("src/f%03d.py", i), strings.Repeat(fmt.Sprint(i), 100))
	}
	write(t, dir, "weights.bin", strings.Repeat("w", artifact.LargeFile+10))
	write(t, dir, ".swignore", "*.log\ncache/\n")
	write(t, dir, "train.log", "noise")
	write(t, dir, "cache/x", "noise")
	return dir
}

func local(t *testing.T) *instance.Local {
	l, err := instance.OpenLocal(t.TempDir())
	require.NoError(t, err)
	return l
}

func build(t *testing.T, l *instance.Local, k registry.Kind, dir, project string) artifact.BuildResult {
	t.Helper()
	res, err := artifact.Build(ctx, l.Of(k).Registry(), artifact.BuildOptions{Dir: dir, Project: project,
		TempDir: l.TempDir(), CacheDir: artifact.CacheDir(l.Root())})
	require.NoError(t, err)
	return res
}

func layers(t *testing.T, p instance.Place, v instance.Version, k registry.Kind) []digest.Digest {
	a, err := artifact.Open(ctx, p, instance.Ref{Project: v.Project, Name: v.Name, Version: string(v.Digest)}, k)
	require.NoError(t, err)
	var out []digest.Digest
	for _, l := range a.Manifest.Layers {
		out = append(out, l.Digest)
	}
	return out
}

func TestBuildChunksAndDedupes(t *testing.T) {
	l := local(t)
	dir := modelDir(t, "mnist")
	first := build(t, l, registry.KindModel, dir, "")
	assert.Equal(t, 304, first.Files, "model.yaml, evaluate.py, .swignore, 300 sources, weights; not the ignored ones")
	assert.Equal(t, 0, first.Version.Number)
	assert.Greater(t, first.Layers, 2, "small files are grouped, the large one alone")
	assert.Less(t, first.Layers, 100)

	again := build(t, l, registry.KindModel, dir, "")
	assert.Equal(t, first.Version.Digest, again.Version.Digest, "deterministic")
	assert.Equal(t, again.Layers, again.Reused)

	m := l.Of(registry.KindModel)
	before := layers(t, m, first.Version, registry.KindModel)
	write(t, dir, "src/f150.py", "changed")
	changed := build(t, l, registry.KindModel, dir, "")
	assert.NotEqual(t, first.Version.Digest, changed.Version.Digest)
	assert.Equal(t, 1, changed.Version.Number)
	assert.Equal(t, changed.Layers-1, changed.Reused, "a changed file moves only its own layer")
	after := layers(t, m, changed.Version, registry.KindModel)
	assert.Len(t, after, len(before))
	diff := 0
	for i := range before {
		if before[i] != after[i] {
			diff++
		}
	}
	assert.Equal(t, 1, diff, "one layer differs")

	// Without the cache (another root's), the same bytes: the cache only
	// saves packing.
	l2 := local(t)
	fresh := build(t, l2, registry.KindModel, dir, "")
	assert.Equal(t, changed.Version.Digest, fresh.Version.Digest)
	assert.Equal(t, 0, fresh.Reused)

	// A dataset with the same large file at the same path shares its layer.
	ds := t.TempDir()
	write(t, ds, "dataset.yaml", "name: mnist\n")
	write(t, ds, "weights.bin", strings.Repeat("w", artifact.LargeFile+10))
	dres := build(t, l, registry.KindDataset, ds, "")
	assert.Equal(t, 1, dres.Reused, "the large file is stored once across kinds")
	assert.Equal(t, 0, dres.Version.Number, "a dataset's numbers are its own")

	// Models list as models, not as runtimes.
	rts, err := l.ListRuntimes(ctx, "self", false)
	require.NoError(t, err)
	assert.Empty(t, rts)
	ms, err := m.ListRuntimes(ctx, "self", false)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, 2, ms[0].Versions)
	assert.Equal(t, "local/project/self/model/mnist/version/"+changed.Version.Short, m.URI(changed.Version).String())

	// The dataset is not a model.
	_, err = artifact.Open(ctx, l.Of(registry.KindDataset), instance.Ref{Name: "mnist"}, registry.KindModel)
	var ke *artifact.KindError
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, "mnist is a application/vnd.starwhale.dataset.v1, not a model", err.Error())
}

func TestCopyThroughFileAndExtract(t *testing.T) {
	l := local(t)
	dir := modelDir(t, "mnist")
	res := build(t, l, registry.KindModel, dir, "")
	file := filepath.Join(t.TempDir(), "mnist.swmp")

	var o instance.Opener
	o.StorageRoot = l.Root()
	open := func(s string) (instance.Instance, uri.URI) {
		u, err := uri.Parse(s)
		require.NoError(t, err)
		in, err := o.Open(ctx, u)
		require.NoError(t, err)
		t.Cleanup(func() { in.Close() })
		return in, u
	}
	src, su := open("local/project/self/model/mnist/version/latest")
	dst, du := open(file)
	_, err := instance.Copy(ctx, src, instance.RefOf(su), dst, instance.RefOf(du), instance.CopyOptions{})
	require.NoError(t, err)

	back, bu := open(file)
	into, iu := open("local/project/other/model/mnist")
	cr, err := instance.Copy(ctx, back, instance.RefOf(bu), into, instance.RefOf(iu), instance.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, res.Version.Digest, cr.Version.Digest, "the same version from the file")
	assert.Equal(t, 0, cr.Copied, "every blob is in the store already")

	// A .swmp given where a dataset is expected is refused with a reason.
	wrong := filepath.Join(t.TempDir(), "x.swds")
	require.NoError(t, os.Link(file, wrong))
	w, wu := open(wrong)
	_, err = w.Resolve(ctx, instance.RefOf(wu), false)
	require.ErrorContains(t, err, "the bundle holds a model, not a dataset")

	a, err := artifact.Open(ctx, into, instance.Ref{Project: "other", Name: "mnist"}, registry.KindModel)
	require.NoError(t, err)
	assert.Equal(t, "python evaluate.py", a.Config.Handler)
	dest := filepath.Join(t.TempDir(), "job", "model")
	require.NoError(t, artifact.Extract(ctx, into, a, dest))
	b, err := os.ReadFile(filepath.Join(dest, "src", "f007.py"))
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("7", 100), string(b))
	assert.NoFileExists(t, filepath.Join(dest, "train.log"))
	assert.NoDirExists(t, filepath.Join(dest, "cache"))
	if os.Getuid() != 0 {
		assert.Error(t, os.WriteFile(filepath.Join(dest, "evaluate.py"), []byte("x"), 0o644), "read-only")
		assert.Error(t, os.WriteFile(filepath.Join(dest, "new.py"), []byte("x"), 0o644), "read-only folder")
	}
	require.NoError(t, artifact.RemoveAll(filepath.Dir(dest)))
}

func TestBadSpecs(t *testing.T) {
	l := local(t)
	for _, tc := range []struct {
		kind       registry.Kind
		yaml, want string
	}{
		{registry.KindModel, "", "model.yaml: not found: a model folder needs a model.yaml with at least a name"},
		{registry.KindModel, "name: Bad Name\n", "model.yaml: name: "},
		{registry.KindModel, "name: m\nrun: {handler: \"\"}\n", "run.handler is empty"},
		{registry.KindModel, "name: m\nrun: {cmd: x}\n", "field cmd not found"},
		{registry.KindDataset, "name: d\nrun: {handler: x}\n", "a dataset has no run: section"},
	} {
		dir := t.TempDir()
		if tc.yaml != "" {
			write(t, dir, artifact.SpecFile(tc.kind), tc.yaml)
		}
		_, err := artifact.Build(ctx, l.Of(tc.kind).Registry(), artifact.BuildOptions{Dir: dir, TempDir: l.TempDir()})
		require.Error(t, err, tc.yaml)
		assert.Contains(t, err.Error(), tc.want)
		assert.NotContains(t, err.Error(), "\n")
	}
}

func TestLargeFilesDedupeAcrossPaths(t *testing.T) {
	l := local(t)
	dir := t.TempDir()
	big := strings.Repeat("0123456789", artifact.LargeFile/10+1)
	write(t, dir, "model.yaml", "name: twins\n")
	write(t, dir, "a/weights.bin", big)
	write(t, dir, "b/copy-of-weights.bin", big)
	write(t, dir, "other.bin", big+"x")
	res := build(t, l, registry.KindModel, dir, "")
	m := l.Of(registry.KindModel)
	ls := layers(t, m, res.Version, registry.KindModel)
	count := map[digest.Digest]int{}
	for _, d := range ls {
		count[d]++
	}
	assert.Len(t, ls, 4, "model.yaml's group and three large files")
	assert.Len(t, count, 3, "the two identical files are one blob")

	// In a dataset at yet another path: the same blob again.
	ds := t.TempDir()
	write(t, ds, "dataset.yaml", "name: d\n")
	write(t, ds, "data/blob", big)
	dres := build(t, l, registry.KindDataset, ds, "")
	assert.Equal(t, 1, dres.Reused, "the large file is stored once across paths and kinds")

	// Laid out at each path.
	a, err := artifact.Open(ctx, m, instance.Ref{Name: "twins"}, registry.KindModel)
	require.NoError(t, err)
	dest := filepath.Join(t.TempDir(), "out")
	require.NoError(t, artifact.Extract(ctx, m, a, dest))
	for _, p := range []string{"a/weights.bin", "b/copy-of-weights.bin"} {
		b, err := os.ReadFile(filepath.Join(dest, p))
		require.NoError(t, err)
		assert.Equal(t, big, string(b), p)
	}
	b, err := os.ReadFile(filepath.Join(dest, "other.bin"))
	require.NoError(t, err)
	assert.Equal(t, big+"x", string(b))
	assert.NoFileExists(t, filepath.Join(dest, "content"))
	require.NoError(t, artifact.RemoveAll(dest))
}
