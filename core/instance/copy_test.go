package instance_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
)

// gate is a local instance whose blob writers hold their Commit until two
// writers are open at once: a Copy that moved one blob at a time never gets
// there, and fails after a while instead.
type gate struct {
	*instance.Local
	open     atomic.Int32
	together chan struct{}
	once     sync.Once
}

func (g *gate) Writer(c context.Context, desc ocispec.Descriptor) (instance.BlobWriter, error) {
	w, err := g.Local.Writer(c, desc)
	if err != nil {
		return nil, err
	}
	if g.open.Add(1) >= 2 {
		g.once.Do(func() { close(g.together) })
	}
	return &gatedWriter{BlobWriter: w, g: g}, nil
}

type gatedWriter struct {
	instance.BlobWriter
	g      *gate
	closed bool
}

func (w *gatedWriter) Commit(c context.Context) error {
	select {
	case <-w.g.together:
	case <-time.After(20 * time.Second):
		return errors.New("no two blob writers were ever open at once")
	}
	return w.BlobWriter.Commit(c)
}

func (w *gatedWriter) Close() error {
	if !w.closed {
		w.closed = true
		w.g.open.Add(-1)
	}
	return w.BlobWriter.Close()
}

// putLayeredVersion stores in l a runtime name of n package layers (layer
// i is "layer i " repeated rep times) and returns its layers and manifest.
func putLayeredVersion(t *testing.T, l *instance.Local, name string, n, rep int) ([]ocispec.Descriptor, []byte) {
	t.Helper()
	var layers []ocispec.Descriptor
	for i := range n {
		data := bytes.Repeat([]byte(fmt.Sprintf("layer %d ", i)), rep)
		d := digest.FromBytes(data)
		_, err := l.Registry().PutBlob(ctx, bytes.NewReader(data), d)
		require.NoError(t, err)
		layers = append(layers, bundle.LayerDescriptor(bundle.LayerInfo{Digest: d, Size: int64(len(data)), UncompressedSize: int64(len(data))}, bundle.RolePackage, fmt.Sprintf("p%d==1", i)))
	}
	config := []byte(`{"name":"` + name + `"}`)
	cd := bundle.ConfigDescriptor(config)
	_, err := l.Registry().PutBlob(ctx, bytes.NewReader(config), cd.Digest)
	require.NoError(t, err)
	m, err := bundle.Manifest(cd, layers, nil)
	require.NoError(t, err)
	_, err = l.PutManifest(ctx, "self", name, m, nil)
	require.NoError(t, err)
	return layers, m
}

// Several blobs of one version move at once between two local instances
// (both ConcurrentBlobs);
// Stored hears every blob once, copied or found there.
func TestCopyMovesBlobsConcurrentlyAndReportsEachStored(t *testing.T) {
	src := newLocal(t)
	layers, m := putLayeredVersion(t, src, "many", 8, 1000)

	dst := &gate{Local: newLocal(t), together: make(chan struct{})}
	// One layer is there already: it is not copied but still reported.
	data := bytes.Repeat([]byte("layer 0 "), 1000)
	_, err := dst.Registry().PutBlob(ctx, bytes.NewReader(data), layers[0].Digest)
	require.NoError(t, err)

	var mu sync.Mutex
	stored := map[digest.Digest]int{}
	res, err := instance.Copy(ctx, src, instance.Ref{Name: "many"}, dst, instance.Ref{}, instance.CopyOptions{
		Stored: func(d ocispec.Descriptor) {
			_, err := dst.Stat(ctx, d.Digest)
			assert.NoError(t, err, "Stored is called once the destination holds the blob")
			mu.Lock()
			stored[d.Digest]++
			mu.Unlock()
		}})
	require.NoError(t, err)
	assert.Equal(t, 9, res.Blobs)
	assert.Equal(t, 8, res.Copied)
	assert.Len(t, stored, 9)
	for d, n := range stored {
		assert.Equal(t, 1, n, "%s reported once", d)
	}
	v, err := dst.Resolve(ctx, instance.Ref{Name: "many"}, false)
	require.NoError(t, err)
	assert.Equal(t, digest.FromBytes(m), v.Digest)
}
