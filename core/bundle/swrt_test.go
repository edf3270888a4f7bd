package bundle

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// testBundle is a runtime bundle built from sampleTree: a snapshot layer, a
// base layer and two package layers (one of them twice, to check dedupe).
type testBundle struct {
	manifest []byte
	blobs    map[digest.Digest][]byte
	swrt     []byte
}

func buildBundle(t testing.TB, root string) *testBundle {
	t.Helper()
	b := &testBundle{blobs: map[digest.Digest][]byte{}}
	add := func(data []byte) { b.blobs[digest.FromBytes(data)] = data }
	config := []byte(`{"name":"demo","mode":"venv","python":"3.11"}`)
	add(config)
	var layers []ocispec.Descriptor
	for _, l := range []struct{ role, pkg, dir string }{
		{RoleSnapshot, "", "share"},
		{RoleBase, "", "bin"},
		{RolePackage, "pkg==1.0", "lib/pkg"},
		{RolePackage, "extra==2.0", "lib/pkg-extra"},
		{RolePackage, "pkg==1.0", "lib/pkg"},
	} {
		paths, err := WalkFiles(root, l.dir)
		require.NoError(t, err)
		data, info := packBytes(t, root, paths, PackOptions{})
		add(data)
		layers = append(layers, LayerDescriptor(info, l.role, l.pkg))
	}
	m, err := Manifest(ConfigDescriptor(config), layers, map[string]string{"org.starwhale.runtime.name": "demo"})
	require.NoError(t, err)
	b.manifest = m
	var out bytes.Buffer
	require.NoError(t, WriteSWRT(&out, m, b.open, WriteOptions{RefName: "v0"}))
	b.swrt = out.Bytes()
	return b
}

func (b *testBundle) open(d digest.Digest) (io.ReadCloser, int64, error) {
	data, ok := b.blobs[d]
	if !ok {
		return nil, 0, fmt.Errorf("no blob %s", d)
	}
	return io.NopCloser(bytes.NewReader(data)), int64(len(data)), nil
}

func sampleBundle(t testing.TB) *testBundle {
	root := t.TempDir()
	writeTree(t, root, sampleTree)
	return buildBundle(t, root)
}

func TestManifestDeterministic(t *testing.T) {
	cfg := ConfigDescriptor([]byte("{}"))
	l := LayerDescriptor(LayerInfo{Digest: digest.FromString("x"), Size: 3, UncompressedSize: 2048}, RolePackage, "a==1")
	m1, err := Manifest(cfg, []ocispec.Descriptor{l}, map[string]string{"b": "2", "a": "1"})
	require.NoError(t, err)
	m2, err := Manifest(cfg, []ocispec.Descriptor{l}, map[string]string{"a": "1", "b": "2"})
	require.NoError(t, err)
	require.Equal(t, m1, m2)
	require.NotContains(t, string(m1), "created")
	var raw map[string]any
	require.NoError(t, json.Unmarshal(m1, &raw))
	require.EqualValues(t, 2, raw["schemaVersion"])
	require.Equal(t, ocispec.MediaTypeImageManifest, raw["mediaType"])
	require.Equal(t, ArtifactType, raw["artifactType"])
	m, err := ParseManifest(m1)
	require.NoError(t, err)
	require.Equal(t, l, m.Layers[0])
	n, err := UncompressedSize(m.Layers[0])
	require.NoError(t, err)
	require.Equal(t, int64(2048), n)

	empty, err := Manifest(cfg, nil, nil)
	require.NoError(t, err)
	require.Contains(t, string(empty), `"layers":[]`)
}

func TestParseManifestRefusals(t *testing.T) {
	cfg := ConfigDescriptor([]byte("{}"))
	good := LayerDescriptor(LayerInfo{Digest: digest.FromString("x"), Size: 3}, RoleBase, "")
	mutate := func(f func(m map[string]any)) []byte {
		data, err := Manifest(cfg, []ocispec.Descriptor{good}, nil)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(data, &m))
		f(m)
		data, err = json.Marshal(m)
		require.NoError(t, err)
		return data
	}
	layer := func(m map[string]any) map[string]any { return m["layers"].([]any)[0].(map[string]any) }
	many := make([]any, MaxLayers+1)
	for i := range many {
		many[i] = map[string]any{}
	}
	for name, data := range map[string][]byte{
		"not json":        []byte("{"),
		"trailing":        append(mutate(func(map[string]any) {}), []byte("{}")...),
		"schema":          mutate(func(m map[string]any) { m["schemaVersion"] = 1 }),
		"media type":      mutate(func(m map[string]any) { m["mediaType"] = "application/json" }),
		"artifact type":   mutate(func(m map[string]any) { m["artifactType"] = "x" }),
		"config type":     mutate(func(m map[string]any) { m["config"].(map[string]any)["mediaType"] = "x" }),
		"layer type":      mutate(func(m map[string]any) { layer(m)["mediaType"] = "application/vnd.oci.image.layer.v1.tar" }),
		"bad digest":      mutate(func(m map[string]any) { layer(m)["digest"] = "sha256:abc" }),
		"upper digest":    mutate(func(m map[string]any) { layer(m)["digest"] = "sha256:" + strings.Repeat("A", 64) }),
		"sha512":          mutate(func(m map[string]any) { layer(m)["digest"] = digest.SHA512.FromString("x").String() }),
		"negative size":   mutate(func(m map[string]any) { layer(m)["size"] = -1 }),
		"no role":         mutate(func(m map[string]any) { delete(layer(m)["annotations"].(map[string]any), AnnotationRole) }),
		"bad role":        mutate(func(m map[string]any) { layer(m)["annotations"].(map[string]any)[AnnotationRole] = "x" }),
		"package no name": mutate(func(m map[string]any) { layer(m)["annotations"].(map[string]any)[AnnotationRole] = RolePackage }),
		"bad usize":       mutate(func(m map[string]any) { layer(m)["annotations"].(map[string]any)[AnnotationUncompressedSize] = "-1" }),
		"too many layers": mutate(func(m map[string]any) { m["layers"] = many }),
	} {
		_, err := ParseManifest(data)
		var fe *FormatError
		require.ErrorAs(t, err, &fe, name)
		require.NotContains(t, err.Error(), "\n")
	}
}

func TestSWRTRoundTrip(t *testing.T) {
	b := sampleBundle(t)
	// Deterministic: writing again gives the same bytes.
	var again bytes.Buffer
	require.NoError(t, WriteSWRT(&again, b.manifest, b.open, WriteOptions{RefName: "v0"}))
	require.Equal(t, b.swrt, again.Bytes())

	// The tar: oci-layout, index.json, blobs/, blobs/sha256/, then the blobs
	// (manifest, config, layers in manifest order, each once).
	m, err := ParseManifest(b.manifest)
	require.NoError(t, err)
	want := []string{"oci-layout", "index.json", "blobs/", "blobs/sha256/", blobName(digest.FromBytes(b.manifest)), blobName(m.Config.Digest)}
	for i, l := range m.Layers {
		if i < 4 {
			want = append(want, blobName(l.Digest))
		}
	}
	tr := tar.NewReader(bytes.NewReader(b.swrt))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
		require.Equal(t, int64(0), h.ModTime.Unix())
	}
	require.Equal(t, want, names)

	dir := t.TempDir()
	l, err := ReadSWRT(ctx, bytes.NewReader(b.swrt), dir, DefaultLimits)
	require.NoError(t, err)
	require.Equal(t, b.manifest, l.Manifest)
	require.Equal(t, digest.FromBytes(b.manifest), l.ManifestDigest)
	require.Equal(t, "v0", l.RefName)
	require.Equal(t, b.blobs[m.Config.Digest], l.Config)
	require.Len(t, l.Blobs, len(b.blobs)+1)
	for d, p := range l.Blobs {
		require.Equal(t, dir, filepath.Dir(p))
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Equal(t, d, digest.FromBytes(data))
	}

	// Extract every layer into one environment: it is the tree again.
	env := t.TempDir()
	for _, layer := range m.Layers {
		n, err := UncompressedSize(layer)
		require.NoError(t, err)
		_, err = ExtractLayerFile(ctx, l.Blobs[layer.Digest], env, ExtractOptions{MaxBytes: n, Digest: layer.Digest})
		require.NoError(t, err)
	}
	got := readTree(t, env)
	for name, content := range sampleTree {
		if strings.HasPrefix(name, "lib/python3.11") {
			continue // not in any layer
		}
		require.Equal(t, content, got[name], name)
	}

	// Entries in another order, with "./" prefixes, are fine too.
	entries := readEntries(t, b.swrt)
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	for i := range entries {
		entries[i].name = "./" + entries[i].name
	}
	_, err = ReadSWRT(ctx, bytes.NewReader(makeTar(t, entries...)), t.TempDir(), Limits{})
	require.NoError(t, err)
}

func TestWriteSWRTChecksBlobs(t *testing.T) {
	b := sampleBundle(t)
	m, _ := ParseManifest(b.manifest)
	bad := m.Layers[1].Digest
	open := func(d digest.Digest) (io.ReadCloser, int64, error) {
		rc, n, err := b.open(d)
		if d == bad {
			data, _ := io.ReadAll(rc)
			data = bytes.Clone(data)
			data[len(data)/2] ^= 1
			return io.NopCloser(bytes.NewReader(data)), n, err
		}
		return rc, n, err
	}
	var fe *FormatError
	require.ErrorAs(t, WriteSWRT(io.Discard, b.manifest, open), &fe)
	short := func(d digest.Digest) (io.ReadCloser, int64, error) {
		rc, n, err := b.open(d)
		return rc, n - 1, err
	}
	require.ErrorAs(t, WriteSWRT(io.Discard, b.manifest, short), &fe)
	require.ErrorAs(t, WriteSWRT(io.Discard, []byte("{}"), b.open), &fe)
}

// readEntries returns the entries of a tar as tents.
func readEntries(t testing.TB, data []byte) []tent {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out []tent
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		out = append(out, tent{name: h.Name, typ: h.Typeflag, body: string(body), link: h.Linkname, mode: h.Mode})
	}
}

func TestReadSWRTHostile(t *testing.T) {
	b := sampleBundle(t)
	entries := readEntries(t, b.swrt)
	m, _ := ParseManifest(b.manifest)
	layerName := blobName(m.Layers[0].Digest)
	with := func(extra ...tent) []byte { return makeTar(t, append(append([]tent{}, entries...), extra...)...) }
	without := func(name string) []byte {
		var es []tent
		for _, e := range entries {
			if e.name != name {
				es = append(es, e)
			}
		}
		return makeTar(t, es...)
	}
	edit := func(name string, f func(*tent)) []byte {
		es := append([]tent{}, entries...)
		for i := range es {
			if es[i].name == name {
				f(&es[i])
			}
		}
		return makeTar(t, es...)
	}
	otherManifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + digest.FromBytes(b.manifest).String() + `","size":` + fmt.Sprint(len(b.manifest)) + `},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + digest.FromBytes(b.manifest).String() + `","size":` + fmt.Sprint(len(b.manifest)) + `}]}`
	strayBlob := "stray"
	cases := map[string]struct {
		data   []byte
		limits Limits
		want   string
	}{
		"absolute path":      {data: with(file("/etc/passwd", "x")), want: "absolute path"},
		"dotdot":             {data: with(file("../x", "x")), want: "path escapes the bundle"},
		"dotdot inside":      {data: with(file("blobs/../../x", "x")), want: "path escapes the bundle"},
		"symlink":            {data: with(symlink("blobs/sha256/"+strings.Repeat("a", 64), "/etc/passwd")), want: "symlinks are not allowed"},
		"hardlink":           {data: with(tent{name: "x", typ: tar.TypeLink, link: "oci-layout"}), want: "hard links"},
		"device":             {data: with(tent{name: "dev", typ: tar.TypeChar}), want: "device"},
		"fifo":               {data: with(tent{name: "fifo", typ: tar.TypeFifo}), want: "fifo"},
		"extra entry":        {data: with(file("README", "hi")), want: "unexpected entry"},
		"extra dir":          {data: with(dir("blobs/sha512/")), want: "unexpected directory"},
		"bad blob name":      {data: with(file("blobs/sha256/"+strings.Repeat("A", 64), "x")), want: "unexpected entry"},
		"duplicate":          {data: with(entries[0]), want: "duplicate entry"},
		"duplicate blob":     {data: with(entries[5]), want: "duplicate entry"},
		"corrupt blob":       {data: edit(layerName, func(e *tent) { e.body = e.body[:10] + "X" + e.body[11:] }), want: "digest mismatch"},
		"missing layer":      {data: without(layerName), want: "blob is missing"},
		"missing manifest":   {data: without(blobName(digest.FromBytes(b.manifest))), want: "blob is missing"},
		"missing config":     {data: without(blobName(m.Config.Digest)), want: "blob is missing"},
		"missing index":      {data: without("index.json"), want: "index.json"},
		"missing oci-layout": {data: without("oci-layout"), want: "oci-layout"},
		"bad oci-layout":     {data: edit("oci-layout", func(e *tent) { e.body = `{"imageLayoutVersion":"2.0.0"}` }), want: "imageLayoutVersion"},
		"two manifests":      {data: edit("index.json", func(e *tent) { e.body = otherManifest }), want: "exactly one"},
		"index not json":     {data: edit("index.json", func(e *tent) { e.body = "[" }), want: "JSON"},
		"unreferenced blob":  {data: with(file("blobs/sha256/"+digest.FromString(strayBlob).Encoded(), strayBlob)), want: "not referenced"},
		"sparse":             {data: with(tent{name: "x", typ: tar.TypeGNUSparse}), want: "bundle: "},
		"too big":            {data: b.swrt, limits: Limits{MaxTotal: 1000}, want: "exceeds the limit"},
		"too many blobs":     {data: b.swrt, limits: Limits{MaxBlobs: 3}, want: "more than 3 blobs"},
		"big index":          {data: edit("index.json", func(e *tent) { e.body = strings.Repeat(" ", maxIndexFileSize+1) }), want: "at most"},
		"empty":              {data: nil, want: "truncated"},
		"not a tar":          {data: bytes.Repeat([]byte("garbage!"), 200), want: "invalid tar"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			_, err := ReadSWRT(ctx, bytes.NewReader(tc.data), s.target, tc.limits)
			var fe *FormatError
			require.ErrorAs(t, err, &fe)
			require.Contains(t, err.Error(), tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "bundle: "), err.Error())
			require.NotContains(t, err.Error(), "\n")
			s.check(t)
		})
	}
	// The message format the callers show.
	_, err := ReadSWRT(ctx, bytes.NewReader(with(file("../x", "x"))), t.TempDir(), Limits{})
	require.EqualError(t, err, `bundle: entry "../x": path escapes the bundle`)
}

func TestReadSWRTTruncated(t *testing.T) {
	b := sampleBundle(t)
	n := len(b.swrt)
	offsets := []int{0, 1, 100, 511, 512, 513, 1024, 1500, 2048, 3000, 4096, n / 3, n / 2, n - 2048, n - 1537}
	for i := 512; i < n-1536; i += 7919 {
		offsets = append(offsets, i)
	}
	sawUnexpectedEOF := false
	for _, off := range offsets {
		s := newSandbox(t)
		_, err := ReadSWRT(ctx, bytes.NewReader(b.swrt[:off]), s.target, Limits{})
		var fe *FormatError
		require.ErrorAs(t, err, &fe, "offset %d", off)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			sawUnexpectedEOF = true
			require.Contains(t, err.Error(), "truncated")
		}
		s.check(t)
	}
	require.True(t, sawUnexpectedEOF)
	// Only the end-of-archive blocks missing.
	for _, off := range []int{n - 1024, n - 512} {
		_, err := ReadSWRT(ctx, bytes.NewReader(b.swrt[:off]), t.TempDir(), Limits{})
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	}
}

func TestReadSWRTInputError(t *testing.T) {
	b := sampleBundle(t)
	boom := errors.New("network down")
	r := io.MultiReader(bytes.NewReader(b.swrt[:5000]), errReaderOf(boom))
	_, err := ReadSWRT(ctx, r, t.TempDir(), Limits{})
	require.ErrorIs(t, err, boom)
	var fe *FormatError
	require.False(t, errors.As(err, &fe), "an I/O error is not a format error")
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func errReaderOf(err error) io.Reader { return failingReader{err} }
