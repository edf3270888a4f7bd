package instance_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
)

// serial is a place that moves one blob at a time (it hides the wrapped
// place's BlobConcurrency), so the order Copy takes blobs in shows.
type serial struct{ instance.Place }

// flipping serves blob bad with its last byte changed.
type flipping struct {
	instance.Place
	bad digest.Digest
}

func (f flipping) Get(ctx context.Context, d digest.Digest, off int64) (io.ReadCloser, error) {
	rc, err := f.Place.Get(ctx, d, off)
	if err != nil || d != f.bad {
		return rc, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	b[len(b)-1] ^= 0xff
	return io.NopCloser(bytes.NewReader(b)), nil
}

// recordingTap keeps what a BlobTap heard.
type recordingTap struct {
	mu     sync.Mutex
	order  []digest.Digest
	bytes  map[digest.Digest]*bytes.Buffer
	done   map[digest.Digest][]error
	stored map[digest.Digest]bool // the destination held the blob at Done
	dst    instance.Place
}

func newRecordingTap(dst instance.Place) *recordingTap {
	return &recordingTap{bytes: map[digest.Digest]*bytes.Buffer{}, done: map[digest.Digest][]error{}, stored: map[digest.Digest]bool{}, dst: dst}
}

func (r *recordingTap) tap(d ocispec.Descriptor) instance.BlobTap {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.order = append(r.order, d.Digest)
	r.bytes[d.Digest] = &bytes.Buffer{}
	return &oneTap{r: r, d: d.Digest}
}

type oneTap struct {
	r *recordingTap
	d digest.Digest
}

func (t *oneTap) Write(p []byte) (int, error) {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	return t.r.bytes[t.d].Write(p)
}

func (t *oneTap) Done(err error) {
	_, serr := t.r.dst.Stat(ctx, t.d)
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	t.r.done[t.d] = append(t.r.done[t.d], err)
	t.r.stored[t.d] = serr == nil
}

// tapSource is a local instance with runtime "tapped": layers of the given
// sizes (random-looking bytes) and a config; it returns the layers' bytes.
func tapSource(t *testing.T, sizes ...int) (*instance.Local, []ocispec.Descriptor, map[digest.Digest][]byte) {
	t.Helper()
	src := newLocal(t)
	content := map[digest.Digest][]byte{}
	var layers []ocispec.Descriptor
	for i, n := range sizes {
		data := bytes.Repeat([]byte(fmt.Sprintf("%d", i)), n)
		d := digest.FromBytes(data)
		_, err := src.Registry().PutBlob(ctx, bytes.NewReader(data), d)
		require.NoError(t, err)
		content[d] = data
		layers = append(layers, bundle.LayerDescriptor(bundle.LayerInfo{Digest: d, Size: int64(n), UncompressedSize: int64(n)}, bundle.RolePackage, fmt.Sprintf("p%d==1", i)))
	}
	config := []byte(`{"name":"tapped"}`)
	cd := bundle.ConfigDescriptor(config)
	_, err := src.Registry().PutBlob(ctx, bytes.NewReader(config), cd.Digest)
	require.NoError(t, err)
	content[cd.Digest] = config
	m, err := bundle.Manifest(cd, layers, nil)
	require.NoError(t, err)
	_, err = src.PutManifest(ctx, "self", "tapped", m, nil)
	require.NoError(t, err)
	return src, layers, content
}

// A tap sees, in order, every byte of each blob Copy streams from its first
// byte, and hears Done(nil) once the destination holds the blob; a blob
// the destination had, or one whose copy resumes, is not tapped. The
// largest blob starts first.
func TestCopyTapsBlobsStreamedFromTheirStartLargestFirst(t *testing.T) {
	src, layers, content := tapSource(t, 1000, 5000, 3000, 2000)
	dst := newLocal(t)
	// layers[3] is there already; half of layers[2] was staged before.
	_, err := dst.Registry().PutBlob(ctx, bytes.NewReader(content[layers[3].Digest]), layers[3].Digest)
	require.NoError(t, err)
	w, err := dst.Writer(ctx, layers[2])
	require.NoError(t, err)
	_, err = w.Write(content[layers[2].Digest][:1500])
	require.NoError(t, err)
	require.NoError(t, w.Close())

	rec := newRecordingTap(dst)
	res, err := instance.Copy(ctx, serial{src}, instance.Ref{Name: "tapped"}, dst, instance.Ref{}, instance.CopyOptions{Tap: rec.tap})
	require.NoError(t, err)
	assert.Equal(t, 4, res.Copied, "config, layers 0, 1 and the rest of 2")

	m, err := bundle.ParseManifest(mustManifest(t, src, "tapped"))
	require.NoError(t, err)
	assert.Equal(t, []digest.Digest{layers[1].Digest, layers[0].Digest, m.Config.Digest}, rec.order,
		"tapped: the blobs streamed from their first byte, largest first")
	for _, d := range rec.order {
		assert.Equal(t, content[d], rec.bytes[d].Bytes(), "the tap saw the blob's bytes")
		assert.Equal(t, []error{nil}, rec.done[d], "Done once, with nil")
		assert.True(t, rec.stored[d], "Done(nil) comes once the destination holds the blob")
	}
}

// A blob whose bytes do not match its digest ends its tap with the
// mismatch, and the copy fails.
func TestCopyTapHearsTheDigestMismatch(t *testing.T) {
	src, layers, _ := tapSource(t, 4000)
	dst := newLocal(t)
	rec := newRecordingTap(dst)
	_, err := instance.Copy(ctx, flipping{Place: src, bad: layers[0].Digest}, instance.Ref{Name: "tapped"}, dst, instance.Ref{}, instance.CopyOptions{Tap: rec.tap})
	var dm *registry.DigestMismatchError
	require.ErrorAs(t, err, &dm)
	errs := rec.done[layers[0].Digest]
	require.Len(t, errs, 1)
	assert.True(t, errors.As(errs[0], &dm), "the tap heard the mismatch: %v", errs[0])
	assert.False(t, rec.stored[layers[0].Digest])
	_, err = dst.Stat(ctx, layers[0].Digest)
	assert.Error(t, err, "the bad blob is not stored")
}

func mustManifest(t *testing.T, l *instance.Local, name string) []byte {
	t.Helper()
	v, err := l.Resolve(ctx, instance.Ref{Name: name}, false)
	require.NoError(t, err)
	raw, err := l.Manifest(ctx, v)
	require.NoError(t, err)
	return raw
}
