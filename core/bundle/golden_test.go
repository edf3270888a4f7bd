package bundle

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// goldenTree writes a fixed tree (sampleTree, several-frame files of
// incompressible and of Python-like bytes, small files, an executable with
// an absolute shebang) whose layer digests are pinned by TestPackGolden.
func goldenTree(t testing.TB, root string) {
	writeTree(t, root, sampleTree)
	rng := rand.New(rand.NewPCG(11, 12))
	big := make([]byte, 2*FrameSize+12345)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "lib/pkg/data/random.bin"), big, 0o644))
	var text bytes.Buffer
	for text.Len() < FrameSize+FrameSize/2 {
		fmt.Fprintf(&text, "def f_%d(x):\n    return x * %d  # %x\n", rng.IntN(9000), rng.IntN(100), rng.Uint64())
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "lib/pkg/gen.py"), text.Bytes(), 0o644))
	for i := range 300 {
		p := filepath.Join(root, fmt.Sprintf("lib/pkg/small/m%03d.py", i))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, fmt.Appendf(nil, "# module %d\nVALUE = %d\n", i, rng.IntN(1<<20)), 0o644))
	}
}

// TestPackGolden pins the bytes of layers: the digests below are those of
// the layer format (LayerFormat) as it shipped. A change to the tar entries,
// the zstd settings, FrameSize or the frame cutting fails here, so no
// optimization of the packer can change a version's digest unnoticed. If
// the format is changed on purpose, bump LayerFormat and update the digests.
func TestPackGolden(t *testing.T) {
	root := t.TempDir()
	goldenTree(t, root)
	transform := func(rel string, data []byte) ([]byte, bool) {
		if out := bytes.ReplaceAll(data, []byte("/old/prefix"), []byte("/PREFIX")); !bytes.Equal(out, data) {
			return out, true
		}
		return data, false
	}
	all := walk(t, root)
	pkgPaths, err := WalkFiles(root, "lib/pkg")
	require.NoError(t, err)
	want := map[string]string{
		"all":       "sha256:c44e6b285529613e11ecf3cd39423d4595c1047aaa6b09e4fc49f4120962c0e2",
		"all-xform": "sha256:a12587d861ae33c0fe2e95a3d4d6afba8e59055566478577a1a553125bdd9928",
		"pkg":       "sha256:83dec601f94fa77fef8f545556f56927610e18bf6d13301f5b77d2ee8a0d7fc5",
	}
	got := map[string]string{}
	_, info := packBytes(t, root, all, PackOptions{})
	got["all"] = info.Digest.String()
	_, info = packBytes(t, root, all, PackOptions{RewriteMax: 1 << 20, Transform: transform})
	got["all-xform"] = info.Digest.String()
	// PackLayers (several layers at once, into files) gives the same.
	res, err := PackLayers(ctx, []LayerJob{
		{Root: root, Paths: pkgPaths, Dir: t.TempDir()},
		{Root: root, Paths: all, Options: PackOptions{RewriteMax: 1 << 20, Transform: transform}, Dir: t.TempDir()},
	}, 2)
	require.NoError(t, err)
	got["pkg"] = res[0].Digest.String()
	require.Equal(t, got["all-xform"], res[1].Digest.String(), "PackLayers and PackLayer differ")
	require.Equal(t, want, got)
}

// TestFrameGolden pins which frames are stored raw (encodeFrame): a stream
// of a random frame, a text frame, and a random frame with text where no
// sample of looksRandom falls, which the format before raw frames
// (LayerFormat tar-zstd3-frames4m, every frame through EncodeAll) wrote
// otherwise.
func TestFrameGolden(t *testing.T) {
	enc, err := newEncoderWith(1)
	require.NoError(t, err)
	var text bytes.Buffer
	for i := 0; text.Len() < FrameSize; i++ {
		fmt.Fprintf(&text, "def f_%d(x):\n    return x * %d\n", i%9000, i%100)
	}
	hidden := randomBytes(FrameSize, 7)
	copy(hidden[samplePiece:sampleStride], text.Bytes()) // between two samples
	var stream, old []byte
	for _, f := range [][]byte{randomBytes(FrameSize, 6), text.Bytes()[:FrameSize], hidden} {
		stream = appendFrame(enc, stream, f)
		old = enc.EncodeAll(f, old)
	}
	require.NotEqual(t, sha256.Sum256(old), sha256.Sum256(stream), "the frames are those of the format before raw frames")
	require.Equal(t, "sha256:360facd781a8a35979cb0606242103688823de48ee5a49deb14e933418bf9552", digest.FromBytes(stream).String())
}
