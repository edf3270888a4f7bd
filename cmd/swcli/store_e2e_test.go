package main_test

// End-to-end tests of the standalone store: list, info, history, tag,
// remove, recover, gc, version prefixes, copy to and from .swrt files (and
// hostile ones), kill -9 at random moments, and concurrent writers.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/sdk/testpy"
)

// stAppendReq adds a line to wd/requirements.txt (a comment is enough to
// make a new version).
func stAppendReq(t *testing.T, wd, line string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(wd, "requirements.txt"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(line + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestStoreE2E(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	root := t.TempDir()
	wd := stWorkdir(t, filepath.Join(root, "wd"), "store-rt", py.Version, testpy.Wheel{Name: "tiny-a", Version: "1.0"})

	b0 := c.stBuildOK(wd)
	stAppendReq(t, wd, "# one")
	b1 := c.stBuildOK(wd, "--lock-only")
	stAppendReq(t, wd, "# two")
	b2 := c.stBuildOK(wd, "--lock-only", "-t", "mytag")
	require.Equal(t, []string{"v2", "latest", "mytag"}, b2.Tags)

	// list and history.
	list := stJSON[[]stVersion](t, c.ok("-o", "json", "runtime", "list").stdout)
	require.Len(t, list, 3, "a row a version")
	assert.Equal(t, "store-rt", list[0].Name)
	assert.Equal(t, []string{b2.Version, b1.Version, b0.Version}, stShorts(list), "newest first")
	assert.Contains(t, c.ok("runtime", "list").stdout, b2.Version)
	assert.Equal(t, "[]", strings.TrimSpace(c.ok("-o", "json", "runtime", "list", "--project", "empty").stdout))
	h := c.stHistory("store-rt")
	assert.Equal(t, []string{b2.Version, b1.Version, b0.Version}, stShorts(h), "newest first")
	assert.Equal(t, []string{"v0"}, h[2].Tags)
	txt := c.ok("runtime", "history", "store-rt").stdout
	for _, v := range []string{b0.Version, b1.Version, b2.Version, "mytag"} {
		assert.Contains(t, txt, v)
	}

	info := func(ref string) string {
		t.Helper()
		r := c.ok("-o", "json", "runtime", "info", ref)
		return stJSON[struct {
			Basic struct {
				Version string `json:"version"`
			} `json:"basic"`
		}](t, r.stdout).Basic.Version
	}
	// Versions by tag, by unique prefix of 4+ characters, by full digest, by URI.
	assert.Equal(t, b0.Version, info("store-rt/version/"+b0.Version[:4]))
	assert.Equal(t, b0.Version, info("store-rt/version/"+b0.Version[:7]))
	assert.Equal(t, b0.Version, info("store-rt/version/"+strings.TrimPrefix(b0.Digest, "sha256:")))
	assert.Equal(t, b0.Version, info("store-rt/version/"+b0.Digest), "the digest as -o json prints it")
	assert.Equal(t, b1.Version, info("store-rt/version/v1"))
	assert.Equal(t, b2.Version, info("store-rt"))
	assert.Equal(t, b2.Version, info("local/project/self/runtime/store-rt/version/mytag"))
	c.stFailSame([]string{"4"}, "runtime", "info", "store-rt/version/"+b0.Version[:3])

	// Bad input: one line, non-zero exit, store unchanged.
	line := c.stFailSame([]string{"deadbeef"}, "runtime", "info", "store-rt/version/deadbeef")
	for _, v := range []string{b0.Version, b1.Version, b2.Version} {
		assert.Contains(t, line, v, "a missing version lists those that exist")
	}
	c.stFailSame([]string{"nosuch", "store-rt"}, "runtime", "info", "nosuch")
	c.stFailSame([]string{"a/b/c"}, "runtime", "info", "a/b/c")
	c.stFailSame([]string{"local/project/self/dataset/x"}, "runtime", "info", "local/project/self/dataset/x")
	c.stFailSame([]string{"nosuch"}, "runtime", "history", "nosuch")
	c.stFailSame([]string{"--output-filter"}, "runtime", "info", "store-rt", "--output-filter", "everything")
	c.stFailSame([]string{"deadbeef"}, "runtime", "remove", "store-rt/version/deadbeef")
	c.stFailSame([]string{"deadbeef"}, "runtime", "tag", "store-rt/version/deadbeef", "x")
	c.stFailSame([]string{"deadbeef"}, "runtime", "copy", "store-rt/version/deadbeef", filepath.Join(root, "x.swrt"))
	_, err := os.Stat(filepath.Join(root, "x.swrt"))
	assert.True(t, os.IsNotExist(err), "no file for a failed export")

	// tag: add, list, move only with --force, remove; reserved tags refused.
	tv := stJSON[stVersion](t, c.ok("-o", "json", "runtime", "tag", "store-rt/version/"+b0.Version[:6], "prod", "stage").stdout)
	assert.Equal(t, []string{"v0", "prod", "stage"}, tv.Tags)
	assert.Contains(t, c.ok("runtime", "tag", "store-rt/version/prod").stdout, "stage")
	c.stFailSame([]string{"prod"}, "runtime", "tag", "store-rt/version/v1", "prod")
	c.stFailSame([]string{"latest", "reserved"}, "runtime", "tag", "store-rt/version/v1", "latest")
	c.stFailSame([]string{"v7", "reserved"}, "runtime", "tag", "store-rt/version/v1", "v7")
	c.stFailSame([]string{"v0", "reserved"}, "runtime", "tag", "store-rt/version/v1", "v0", "--remove")
	tv = stJSON[stVersion](t, c.ok("-o", "json", "runtime", "tag", "store-rt/version/v1", "prod", "--force").stdout)
	assert.Equal(t, []string{"v1", "prod"}, tv.Tags)
	assert.Equal(t, b1.Version, info("store-rt/version/prod"))
	c.ok("runtime", "tag", "store-rt/version/v1", "prod", "--remove")
	c.stFailSame([]string{"prod"}, "runtime", "info", "store-rt/version/prod")

	// remove (recoverable), recover by short version and by tag.
	rm := c.ok("-o", "json", "runtime", "remove", "store-rt/version/"+b1.Version[:5])
	assert.Contains(t, rm.stdout, b1.Version)
	assert.Equal(t, []string{b2.Version, b0.Version}, stShorts(c.stHistory("store-rt")))
	all := c.stHistory("store-rt", "--show-removed")
	require.Len(t, all, 3)
	for _, v := range all {
		assert.Equal(t, v.Short == b1.Version, v.Removed, v.Short)
	}
	list = stJSON[[]stVersion](t, c.ok("-o", "json", "runtime", "list").stdout)
	assert.Equal(t, []string{b2.Version, b0.Version}, stShorts(list))
	list = stJSON[[]stVersion](t, c.ok("-o", "json", "runtime", "list", "--show-removed").stdout)
	require.Len(t, list, 3, "the removed version is its own row")
	for _, v := range list {
		assert.Equal(t, v.Short == b1.Version, v.Removed, v.Short)
	}
	c.stFailSame([]string{"removed"}, "runtime", "info", "store-rt/version/"+b1.Version)
	rv := stJSON[stVersion](t, c.ok("-o", "json", "runtime", "recover", "store-rt/version/"+b1.Version[:6]).stdout)
	assert.Equal(t, b1.Version, rv.Short)
	assert.Equal(t, b1.Version, info("store-rt/version/v1"))
	c.stFailSame([]string{b1.Version[:6]}, "runtime", "recover", "store-rt/version/"+b1.Version[:6])

	c.ok("runtime", "remove", "store-rt/version/mytag")
	assert.Equal(t, b1.Version, info("store-rt"), "latest moves off a removed version")
	rv = stJSON[stVersion](t, c.ok("-o", "json", "runtime", "recover", "store-rt/version/mytag").stdout)
	assert.Equal(t, b2.Version, rv.Short)
	assert.Contains(t, rv.Tags, "mytag")

	// remove --force and gc: the blobs only that version used are freed.
	blobs := len(c.stBlobs())
	c.ok("runtime", "remove", "store-rt/version/"+b1.Version, "--force")
	assert.NotContains(t, stShorts(c.stHistory("store-rt", "--show-removed")), b1.Version)
	c.stFailSame([]string{b1.Version}, "runtime", "recover", "store-rt/version/"+b1.Version)
	dry := c.ok("runtime", "gc", "--grace", "0s", "--dry-run")
	assert.Equal(t, blobs, len(c.stBlobs()), "dry run: %s", dry.stdout)
	gc := stJSON[struct {
		Freed int `json:"blobs_freed"`
		Kept  int `json:"blobs_kept"`
	}](t, c.ok("-o", "json", "runtime", "gc", "--grace", "0s").stdout)
	// b1's manifest and snapshot layer; its config (the runtime manifest:
	// spec and lock) is b2's too, as only a comment changed in between.
	assert.Equal(t, 2, gc.Freed)
	assert.Equal(t, blobs-2, len(c.stBlobs()))
	assert.Equal(t, b0.Version, info("store-rt/version/v0"))
	assert.Equal(t, 0, stJSON[struct {
		Freed int `json:"blobs_freed"`
	}](t, c.ok("-o", "json", "runtime", "gc", "--grace", "0s").stdout).Freed)

	// Export, then import into another project of the same store: no new blob.
	file := filepath.Join(root, "out", "store rt.swrt")
	require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
	ex := c.ok("-o", "json", "runtime", "copy", "store-rt/version/v0", file)
	assert.Contains(t, ex.stdout, b0.Version)
	c.stFailSame([]string{"exists"}, "runtime", "copy", "store-rt/version/v0", file)
	blobs = len(c.stBlobs())
	iv := stJSON[stVersion](t, c.ok("-o", "json", "runtime", "copy", file, "local/project/other").stdout)
	assert.Equal(t, b0.Digest, iv.Digest)
	assert.Equal(t, "other", iv.Project)
	assert.Equal(t, []string{"v0", "latest"}, iv.Tags)
	assert.Equal(t, blobs, len(c.stBlobs()), "blobs are stored once across projects")
	assert.Equal(t, []string{b0.Version}, stShorts(c.stHistory("local/project/other/runtime/store-rt")))

	// Remove every version of a runtime at once.
	c.ok("runtime", "remove", "local/project/other/runtime/store-rt")
	assert.Empty(t, c.stHistory("local/project/other/runtime/store-rt"))

	// An ambiguous prefix lists the candidates. Make a second version whose
	// digest shares 4 characters with b0 (its manifest differs only by an
	// annotation) in a runtime of its own.
	reg := registry.New(mustFS(t, c.stStore()))
	raw, err := os.ReadFile(filepath.Join(c.stStore(), "blobs", "sha256", strings.TrimPrefix(b0.Digest, "sha256:")))
	require.NoError(t, err)
	var m ocispec.Manifest
	require.NoError(t, json.Unmarshal(raw, &m))
	var twin []byte
	for i := 0; twin == nil; i++ {
		cand, err := bundle.Manifest(m.Config, m.Layers, map[string]string{"org.example.n": fmt.Sprint(i)})
		require.NoError(t, err)
		if sum := sha256.Sum256(cand); hex.EncodeToString(sum[:])[:4] == b0.Version[:4] {
			twin = cand
		}
	}
	ctx := context.Background()
	_, err = reg.PutVersion(ctx, "self", "twins", raw, nil)
	require.NoError(t, err)
	tw, err := reg.PutVersion(ctx, "self", "twins", twin, nil)
	require.NoError(t, err)
	line = c.stFailSame([]string{"ambiguous", b0.Version, tw.Short}, "runtime", "info", "twins/version/"+b0.Version[:4])
	t.Log(line)
	n := 4
	for b0.Version[:n] == tw.Short[:n] {
		n++
	}
	assert.Equal(t, b0.Version, info("twins/version/"+b0.Version[:n+1]))
	assert.Equal(t, tw.Short, info("twins/version/"+tw.Short[:n+1]))
	c.stFailSame([]string{"ambiguous"}, "runtime", "remove", "twins/version/"+b0.Version[:4])
	c.stFailSame([]string{"ambiguous"}, "runtime", "tag", "twins/version/"+b0.Version[:4], "x")

	// The exported file into a fresh store on "another machine": every blob
	// arrives, and the imported version restores and runs.
	c2 := newCLI(t)
	iv = stJSON[stVersion](t, c2.ok("-o", "json", "runtime", "copy", file, "local/project/p2").stdout)
	assert.Equal(t, b0.Digest, iv.Digest)
	var want int
	require.NoError(t, json.Unmarshal([]byte(c2.ok("-o", "json", "runtime", "info", "local/project/p2/runtime/store-rt").stdout), &struct {
		Basic struct {
			Layers *int `json:"layers"`
		} `json:"basic"`
	}{Basic: struct {
		Layers *int `json:"layers"`
	}{Layers: &want}}))
	assert.Len(t, c2.stBlobs(), want+2, "layers, config and manifest")
	out := c2.ok("runtime", "run", "local/project/p2/runtime/store-rt", "--", "python", "-c", "import tiny_a; print(tiny_a.__version__)")
	assert.Equal(t, "1.0", strings.TrimSpace(out.stdout))

	// Bad copies: one line, store untouched.
	c2.stFailSame([]string{"latest", "reserved"}, "runtime", "copy", file, "local/project/p2", "-t", "latest")
	c2.stFailSame([]string{"a/b"}, "runtime", "copy", file, "local/project/p2", "-t", "a/b")
	c2.stFailSame([]string{"nope.swrt"}, "runtime", "copy", filepath.Join(root, "nope.swrt"), "local/project/p2")
	c2.stFailSame([]string{"project"}, "runtime", "copy", file, filepath.Join(root, "other.swrt"))
	c2.stFailSame(nil, "runtime", "copy", "local/project/p2/runtime/store-rt", filepath.Join(root, "no", "such", "dir", "x.swrt"))
	c2.stFailSame([]string{"version"}, "runtime", "copy", "local/project/p2/runtime/store-rt", "local/project/p9/runtime/x/version/v1")
	c2.stFailSame([]string{"prod", "not known", "login"}, "runtime", "copy", "local/project/p2/runtime/store-rt", "cloud://prod/project/p9")
	c2.stFailSame([]string{"http://127.0.0.1:9", "cannot reach"}, "runtime", "copy", "local/project/p2/runtime/store-rt", "http://127.0.0.1:9/project/p9")
	c2.stFailSame([]string{"oci://127.0.0.1:9", "cannot reach"}, "runtime", "history", "oci://127.0.0.1:9/project/p/runtime/store-rt")
	// Between projects of one instance: the version arrives with its own vN,
	// and no blob is copied (the store holds them already).
	blobs2 := len(c2.stBlobs())
	cp := stJSON[stVersion](t, c2.ok("-o", "json", "runtime", "copy", "local/project/p2/runtime/store-rt", "local/project/p9").stdout)
	assert.Equal(t, b0.Digest, cp.Digest)
	assert.Equal(t, "p9", cp.Project)
	assert.Equal(t, []string{"v0", "latest"}, cp.Tags)
	assert.Equal(t, blobs2, len(c2.stBlobs()))
	iv = stJSON[stVersion](t, c2.ok("-o", "json", "runtime", "copy", file, "local/project/p2", "-t", "shared").stdout)
	assert.Equal(t, []string{"v0", "latest", "shared"}, iv.Tags, "importing again is idempotent, and tags")

	// Hostile and broken files: refused with one line, store untouched.
	for _, hf := range stHostileFiles(t, file, filepath.Join(root, "hostile")) {
		t.Run("hostile/"+hf.name, func(t *testing.T) {
			c2 := *c2
			c2.t = t
			line := c2.stFailSame(nil, "runtime", "copy", hf.path, "local/project/p2")
			t.Log(line)
			c2.stFailSame(nil, "runtime", "copy", hf.path, "local/project/p3")
		})
	}
	tmpLeft, _ := os.ReadDir(filepath.Join(c2.stStore(), ".tmp"))
	assert.Empty(t, tmpLeft, "temporary files left in the store")
	assert.Equal(t, []string{b0.Version}, stShorts(c2.stHistory("local/project/p2/runtime/store-rt")))
}

func mustFS(t *testing.T, dir string) *store.FS {
	t.Helper()
	fs, err := store.NewFS(dir)
	require.NoError(t, err)
	return fs
}

type stHostile struct{ name, path string }

// stEntry is one entry of a tar.
type stEntry struct {
	hdr  *tar.Header
	body []byte
}

func stReadTar(t *testing.T, data []byte) []stEntry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out []stEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		out = append(out, stEntry{h, b})
	}
}

func stWriteTar(t *testing.T, entries []stEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := *e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		require.NoError(t, tw.WriteHeader(&h))
		if len(e.body) > 0 {
			_, err := tw.Write(e.body)
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

// stZstdTar makes a layer: a tar of entries compressed with zstd.
func stZstdTar(t *testing.T, entries []stEntry) ([]byte, int64) {
	t.Helper()
	tarData := stWriteTar(t, entries)
	enc, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	return enc.EncodeAll(tarData, nil), int64(len(tarData))
}

// stHostileFiles writes broken and hostile variants of the good .swrt file
// into dir.
func stHostileFiles(t *testing.T, good, dir string) []stHostile {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	entries := stReadTar(t, data)
	var out []stHostile
	add := func(name string, b []byte) {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".swrt")
		require.NoError(t, os.WriteFile(p, b, 0o644))
		out = append(out, stHostile{name, p})
	}
	with := func(extra stEntry) []byte {
		return stWriteTar(t, append(append([]stEntry{}, entries...), extra))
	}
	reg := func(name string, body string) stEntry {
		return stEntry{&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}, []byte(body)}
	}
	add("absolute path", with(reg("/tmp/swcli-evil", "x")))
	add("dotdot path", with(reg("../swcli-evil", "x")))
	add("dotdot blob path", with(reg("blobs/sha256/../../../swcli-evil", "x")))
	add("symlink", with(stEntry{&tar.Header{Name: "blobs/sha256/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, nil}))
	add("hardlink", with(stEntry{&tar.Header{Name: "evil", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}, nil}))
	add("device", with(stEntry{&tar.Header{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o644}, nil}))
	add("fifo", with(stEntry{&tar.Header{Name: "fifo", Typeflag: tar.TypeFifo, Mode: 0o644}, nil}))
	add("not a tar", []byte(strings.Repeat("not a bundle\n", 200)))
	add("empty", nil)

	// A blob whose bytes do not match its digest (the biggest one, a layer).
	big := 0
	for i, e := range entries {
		if len(e.body) > len(entries[big].body) {
			big = i
		}
	}
	bad := append([]stEntry{}, entries...)
	body := append([]byte{}, bad[big].body...)
	body[len(body)/2] ^= 0xff
	bad[big] = stEntry{bad[big].hdr, body}
	add("digest mismatch", stWriteTar(t, bad))
	// A blob that is missing.
	add("missing blob", stWriteTar(t, append(append([]stEntry{}, entries[:big]...), entries[big+1:]...)))

	// Truncated at several offsets.
	for _, n := range []int{0, 100, 512, 1024, 1536, len(data) / 3, len(data) / 2, len(data) - 1536, len(data) - 1024, len(data) - 1} {
		if n >= 0 && n < len(data) {
			add(fmt.Sprintf("truncated at %d of %d", n, len(data)), data[:n])
		}
	}

	// Layers holding hostile entries, in well-formed bundles (digests right).
	blobs := map[digest.Digest][]byte{}
	var manifest []byte
	for _, e := range entries {
		if strings.HasPrefix(e.hdr.Name, "blobs/sha256/") {
			blobs[digest.NewDigestFromEncoded(digest.SHA256, strings.TrimPrefix(e.hdr.Name, "blobs/sha256/"))] = e.body
		}
		if e.hdr.Name == "index.json" {
			var idx ocispec.Index
			require.NoError(t, json.Unmarshal(e.body, &idx))
			manifest = blobs[idx.Manifests[0].Digest]
		}
	}
	if manifest == nil { // index.json came before the blobs
		for _, e := range entries {
			if e.hdr.Name == "index.json" {
				var idx ocispec.Index
				require.NoError(t, json.Unmarshal(e.body, &idx))
				manifest = blobs[idx.Manifests[0].Digest]
			}
		}
	}
	require.NotNil(t, manifest)
	var m ocispec.Manifest
	require.NoError(t, json.Unmarshal(manifest, &m))
	layerBundle := func(name string, layer []stEntry, declared int64) {
		comp, size := stZstdTar(t, layer)
		if declared == 0 {
			declared = size
		}
		d := digest.FromBytes(comp)
		desc := bundle.LayerDescriptor(bundle.LayerInfo{Digest: d, Size: int64(len(comp)), UncompressedSize: declared, Files: len(layer)}, bundle.RoleSnapshot, "")
		layers := append([]ocispec.Descriptor{desc}, m.Layers[1:]...)
		raw, err := bundle.Manifest(m.Config, layers, nil)
		require.NoError(t, err)
		all := map[digest.Digest][]byte{d: comp}
		for k, v := range blobs {
			all[k] = v
		}
		var buf bytes.Buffer
		require.NoError(t, bundle.WriteSWRT(&buf, raw, func(d digest.Digest) (io.ReadCloser, int64, error) {
			b, ok := all[d]
			if !ok {
				return nil, 0, fmt.Errorf("no blob %s", d)
			}
			return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
		}))
		add(name, buf.Bytes())
	}
	okFile := reg("runtime.yaml", "name: x\n")
	layerBundle("layer with dotdot", []stEntry{okFile, reg("../../evil.py", "x")}, 0)
	layerBundle("layer with absolute path", []stEntry{okFile, reg("/tmp/evil.py", "x")}, 0)
	layerBundle("layer with escaping symlink", []stEntry{okFile,
		{&tar.Header{Name: "lib/link", Typeflag: tar.TypeSymlink, Linkname: "../../../../etc/passwd", Mode: 0o777}, nil}}, 0)
	layerBundle("layer with absolute symlink", []stEntry{okFile,
		{&tar.Header{Name: "lib/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd", Mode: 0o777}, nil}}, 0)
	layerBundle("layer with write through symlink", []stEntry{okFile,
		{&tar.Header{Name: "lib", Typeflag: tar.TypeSymlink, Linkname: "..", Mode: 0o777}, nil}, reg("lib/evil.py", "x")}, 0)
	layerBundle("layer with device", []stEntry{okFile,
		{&tar.Header{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o644}, nil}}, 0)
	bomb := make([]byte, 256<<20)
	layerBundle("tar bomb", []stEntry{okFile, {&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644}, bomb}}, 10<<10)
	return out
}

func TestStoreKillAndConcurrency(t *testing.T) {
	t.Parallel()
	py := pythons(t)[0]
	c := newCLI(t)
	root := t.TempDir()
	wheelA := testpy.Wheel{Name: "tiny-a", Version: "1.0"}
	wdA := stWorkdir(t, filepath.Join(root, "a"), "conc-a", py.Version, wheelA)
	wdB := stWorkdir(t, filepath.Join(root, "b"), "conc-b", py.Version, wheelA)

	// Two processes building different runtimes at once both land.
	var wg sync.WaitGroup
	res := make([]result, 2)
	for i, wd := range []string{wdA, wdB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := c.command("-o", "json", "runtime", "build", wd)
			var so, se bytes.Buffer
			cmd.Stdout, cmd.Stderr = &so, &se
			err := cmd.Run()
			res[i] = result{stdout: so.String(), stderr: se.String()}
			if err != nil {
				res[i].code = -1
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 0, res[0].code, "%s", res[0])
	require.Equal(t, 0, res[1].code, "%s", res[1])
	ba, bb := stJSON[stBuild](t, res[0].stdout), stJSON[stBuild](t, res[1].stdout)
	list := stJSON[[]stVersion](t, c.ok("-o", "json", "runtime", "list").stdout)
	require.Len(t, list, 2)
	assert.Equal(t, "conc-a", list[0].Name)
	assert.Equal(t, "conc-b", list[1].Name)

	// Blobs are stored once across runtimes: the two share their env layers.
	layersOf := func(name string) []string {
		var info stInfoAll
		info = c.stInfo(name)
		var ds []string
		for _, l := range info.OCI.Layers {
			ds = append(ds, l.Digest)
		}
		return ds
	}
	la, lb := layersOf("conc-a"), layersOf("conc-b")
	shared := 0
	for _, d := range la {
		for _, e := range lb {
			if d == e {
				shared++
			}
		}
	}
	assert.Equal(t, len(la)-1, shared, "every env layer is shared, only the snapshots differ")
	assert.Len(t, c.stBlobs(), len(la)+2+len(lb)+2-shared)

	// Two processes tagging at once lose neither tag.
	for i := range 4 {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for j := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := c.command("runtime", "tag", "conc-a", fmt.Sprintf("t%d-%d", i, j))
				out, err := r.CombinedOutput()
				if err != nil {
					codes[j] = 1
					t.Logf("tag: %v: %s", err, out)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, []int{0, 0}, codes)
	}
	h := c.stHistory("conc-a")
	require.Len(t, h, 1)
	for i := range 4 {
		for j := range 2 {
			assert.Contains(t, h[0].Tags, fmt.Sprintf("t%d-%d", i, j))
		}
	}

	// kill -9 of a build at each of its stages (SWCLI_TEST_KILL_AT): no
	// partial version; a re-run succeeds. The builds remake the environment
	// (--no-cache) and store a new version (another requirement) so every
	// stage is reached.
	stAppendReq(t, wdB, "# changed")
	for _, at := range []string{"create environment", "install dependencies", "lock", "pack#1", "pack#2", "store version"} {
		before := c.stHistory("conc-b")
		stKilledAt(t, c, at, "runtime", "build", "--no-cache", wdB)
		assert.Equal(t, stShorts(before), stShorts(c.stHistory("conc-b")), "after a kill at %q", at)
		list := stJSON[[]stVersion](t, c.ok("-o", "json", "runtime", "list", "-fl", "latest").stdout)
		assert.Len(t, list, 2)
	}
	nb := c.stBuildOK(wdB)
	assert.NotEqual(t, bb.Version, nb.Version)
	assert.Equal(t, nb.Version, stHistoryLatest(c, "conc-b"))

	// kill -9 of an import before each blob it copies: nothing in the
	// project; the next import is whole.
	file := filepath.Join(root, "a.swrt")
	c.ok("runtime", "copy", "conc-a", file)
	blobs := len(stJSON[struct {
		OCI struct {
			Layers []any `json:"layers"`
		} `json:"oci_manifest"`
	}](t, c.ok("runtime", "info", "conc-a", "-of", "manifest").stdout).OCI.Layers) + 1
	for n := 1; n <= blobs; n++ {
		stKilledAt(t, c, fmt.Sprintf("copy blobs#%d", n), "runtime", "copy", file, "local/project/imp")
		assert.Equal(t, "[]", strings.TrimSpace(c.ok("-o", "json", "runtime", "list", "--project", "imp").stdout))
	}
	iv := stJSON[stVersion](t, c.ok("-o", "json", "runtime", "copy", file, "local/project/imp").stdout)
	assert.Equal(t, ba.Digest, iv.Digest)
	c.ok("runtime", "info", "local/project/imp/runtime/conc-a", "-of", "all")
}

// stKilledAt runs swcli args, killed (SIGKILL) by the crash hook at stage at,
// and waits for what it started to go.
func stKilledAt(t *testing.T, c *cli, at string, args ...string) {
	t.Helper()
	cmd := c.command(args...)
	cmd.Env = append(append([]string{}, cmd.Env...), "SWCLI_TEST_KILL_AT="+at)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "swcli %v was not killed at %q: %s", args, at, out)
	ws, ok := ee.Sys().(syscall.WaitStatus)
	require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "swcli %v: not killed at %q: %v: %s", args, at, err, out)
	c.waitNoProcesses(t, "after a killed swcli")
}

func stHistoryLatest(c *cli, name string) string {
	h := c.stHistory(name)
	for _, v := range h {
		for _, tg := range v.Tags {
			if tg == "latest" {
				return v.Short
			}
		}
	}
	return ""
}

var _ = exec.Command
