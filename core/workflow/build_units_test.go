package workflow

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/spec"
)

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
}

func TestSnapshotFiles(t *testing.T) {
	wd := t.TempDir()
	writeFile(t, filepath.Join(wd, "runtime.yaml"), "name: snap\npython_version: \"3.11\"\ndependencies:\n  - reqs/a.txt\n  - wheels:\n      - wheels/x-1.0-py3-none-any.whl\n  - files:\n      - src: data\n        dest: d\n")
	writeFile(t, filepath.Join(wd, "reqs", "a.txt"), "x\n")
	writeFile(t, filepath.Join(wd, "wheels", "x-1.0-py3-none-any.whl"), "wheel")
	writeFile(t, filepath.Join(wd, "data", "one.txt"), "1")
	writeFile(t, filepath.Join(wd, "data", "sub", "two.txt"), "2")
	writeFile(t, filepath.Join(wd, "local-1.0-py3-none-any.whl"), "w")
	writeFile(t, filepath.Join(wd, "unrelated.txt"), "not in the snapshot")
	writeFile(t, filepath.Join(wd, ".starwhale", "venv", "bin", "python"), "env")
	writeFile(t, filepath.Join(wd, ".starwhale", "lock", "requirements-lock.txt"), "x==1\n")
	sp, err := spec.Load(filepath.Join(wd, "runtime.yaml"))
	require.NoError(t, err)
	rs, err := sp.Resolve(wd)
	require.NoError(t, err)

	got, err := snapshotFiles(wd, "runtime.yaml", rs, []string{"requirements-lock.txt"}, []string{"local-1.0-py3-none-any.whl"})
	require.NoError(t, err)
	assert.Equal(t, []string{
		".starwhale/lock/requirements-lock.txt",
		"data",
		"data/one.txt",
		"data/sub",
		"data/sub/two.txt",
		"local-1.0-py3-none-any.whl",
		"reqs/a.txt",
		"runtime.yaml",
		"wheels/x-1.0-py3-none-any.whl",
	}, got, "sorted, the spec's files (folders walked, listed too), lock files, local sources; never the environment")

	// A files[].src that reaches into .starwhale leaves the environment out.
	got, err = snapshotFiles(wd, "runtime.yaml", rs, nil, []string{".starwhale/venv/bin/python"})
	require.NoError(t, err)
	assert.NotContains(t, got, ".starwhale/venv/bin/python")

	// A listed file that vanished is an error, not a silent omission.
	_, err = snapshotFiles(wd, "runtime.yaml", rs, nil, []string{"gone.whl"})
	assert.Error(t, err)
}

func TestLocalSources(t *testing.T) {
	wd := t.TempDir()
	writeFile(t, filepath.Join(wd, "wheels", "a-1.0-py3-none-any.whl"), "a")
	writeFile(t, filepath.Join(wd, "b-1.0-py3-none-any.whl"), "b")
	require.NoError(t, os.MkdirAll(filepath.Join(wd, "proj"), 0o755))
	outside := filepath.Join(t.TempDir(), "c-1.0-py3-none-any.whl")
	writeFile(t, outside, "c")
	pkgs := []mode.LockedPackage{
		{Name: "a", Source: "wheels/a-1.0-py3-none-any.whl"},
		{Name: "b", Source: "./b-1.0-py3-none-any.whl"},
		{Name: "index"},
		{Name: "url", Source: "https://example.com/u-1.0-py3-none-any.whl"},
		{Name: "vcs", Source: "git+https://example.com/r.git@abc"},
		{Name: "abs", Source: outside},
		{Name: "up", Source: "../c-1.0-py3-none-any.whl"},
		{Name: "sneaky", Source: "wheels/../../c-1.0-py3-none-any.whl"},
		{Name: "dir", Source: "proj"},
		{Name: "gone", Source: "wheels/gone-1.0-py3-none-any.whl"},
	}
	assert.Equal(t, []string{"wheels/a-1.0-py3-none-any.whl", "b-1.0-py3-none-any.whl"}, localSources(wd, pkgs))
}

func TestLayerCache(t *testing.T) {
	wd := t.TempDir()
	d1, d2 := digest.FromString("one"), digest.FromString("two")

	c := loadLayerCache(wd, false)
	_, ok := c.get("k1")
	assert.False(t, ok)
	c.put("k1", cacheEntry{Digest: d1, Size: 1})
	c.put("k2", cacheEntry{Digest: d2, Size: 2})
	c.save()

	// Loaded again: both entries; a build that uses only k1 keeps only k1.
	c = loadLayerCache(wd, false)
	e, ok := c.get("k1")
	require.True(t, ok)
	assert.Equal(t, d1, e.Digest)
	c.save()
	c = loadLayerCache(wd, false)
	_, ok = c.get("k2")
	assert.False(t, ok, "unused entries are dropped on save")
	_, ok = c.get("k1")
	assert.True(t, ok)

	// --no-cache ignores the file; a corrupt file is an empty cache.
	_, ok = loadLayerCache(wd, true).get("k1")
	assert.False(t, ok)
	writeFile(t, filepath.Join(wd, DotDir, "cache", "layers.json"), "{not json")
	_, ok = loadLayerCache(wd, false).get("k1")
	assert.False(t, ok)
	writeFile(t, filepath.Join(wd, DotDir, "cache", "layers.json"), `{"k":{"digest":""}}`)
	_, ok = loadLayerCache(wd, false).get("k")
	assert.False(t, ok, "an entry without a digest is no entry")
}

func TestLayerKey(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a.py"), "a")
	writeFile(t, filepath.Join(root, "b.py"), "b")
	j := layerJob{role: "package", pkg: "x==1", root: root, files: []string{"a.py", "b.py"}, scrub: true}
	k, err := layerKey(j, "/p", "/w")
	require.NoError(t, err)
	again, err := layerKey(j, "/p", "/w")
	require.NoError(t, err)
	assert.Equal(t, k, again)

	other := func(f func(*layerJob) (string, string)) string {
		jj := j
		jj.files = append([]string(nil), j.files...)
		p, w := f(&jj)
		k2, err := layerKey(jj, p, w)
		require.NoError(t, err)
		return k2
	}
	assert.NotEqual(t, k, other(func(j *layerJob) (string, string) { return "/p2", "/w" }), "prefix")
	assert.NotEqual(t, k, other(func(j *layerJob) (string, string) { return "/p", "/w2" }), "workdir")
	assert.NotEqual(t, k, other(func(j *layerJob) (string, string) { j.pkg = "x==2"; return "/p", "/w" }), "package")
	assert.NotEqual(t, k, other(func(j *layerJob) (string, string) { j.files = j.files[:1]; return "/p", "/w" }), "files")

	// Touching a file changes the key (the cache then repacks it; the
	// content, and so the layer digest, stays the same).
	future := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(root, "a.py"), future, future))
	k3, err := layerKey(j, "/p", "/w")
	require.NoError(t, err)
	assert.NotEqual(t, k, k3)

	// A missing file is an error.
	require.NoError(t, os.Remove(filepath.Join(root, "b.py")))
	_, err = layerKey(j, "/p", "/w")
	assert.Error(t, err)
}
