package artifact

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/bundle"
)

// A content layer's path comes from the manifest: the reader checks it as
// it checks any entry's.
func TestContentLayerPathChecked(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "w.bin"), []byte(strings.Repeat("w", LargeFile)), 0o644))
	sizes := map[string]int64{"w.bin": LargeFile}
	job := layerJob(src, "", []string{"w.bin"}, sizes)
	var buf bytes.Buffer
	info, err := bundle.PackLayer(context.Background(), &buf, job.Root, job.Paths, job.Options)
	require.NoError(t, err)
	desc := bundle.LayerDescriptor(info, bundle.RoleFiles, "")

	extract := func(dest, path string) error {
		desc.Annotations[AnnotationPath] = path
		_, err := bundle.ExtractLayer(context.Background(), bytes.NewReader(buf.Bytes()), dest, extractOptions(desc))
		return err
	}
	dest := t.TempDir()
	require.NoError(t, extract(dest, "deep/er/w.bin"))
	st, err := os.Stat(filepath.Join(dest, "deep", "er", "w.bin"))
	require.NoError(t, err)
	assert.Equal(t, int64(LargeFile), st.Size())

	outside := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dest, "link")))
	for path, want := range map[string]string{
		"../escape":  "path escapes the destination",
		"/etc/x":     "absolute path",
		"link/w.bin": "symlink",
		"a//b":       "empty segment",
	} {
		err := extract(dest, path)
		require.Error(t, err, path)
		assert.Contains(t, err.Error(), want, path)
	}
	ents, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Empty(t, ents, "nothing written through the link")
	assert.NoFileExists(t, filepath.Join(filepath.Dir(dest), "escape"))
}
