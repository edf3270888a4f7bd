package bundle

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPackLayerSource packs files from outside the root at paths under it
// (an editable install's source tree into site-packages): the same bytes as
// the files copied under the root, Transform sees them, folders above them
// come from the mapping too.
func TestPackLayerSource(t *testing.T) {
	root, src, copied := t.TempDir(), t.TempDir(), t.TempDir()
	writeTree(t, root, map[string]string{"lib/site/other.py": "o\n"})
	writeTree(t, src, map[string]string{"proj/edpkg/__init__.py": "x = '/old/prefix'\n", "proj/edpkg/sub/run": "x:#!/bin/sh\n"})
	writeTree(t, copied, map[string]string{"lib/site/other.py": "o\n", "lib/site/edpkg/__init__.py": "x = '/old/prefix'\n", "lib/site/edpkg/sub/run": "x:#!/bin/sh\n"})
	sources := map[string]string{
		"lib/site/edpkg":             filepath.Join(src, "proj", "edpkg"),
		"lib/site/edpkg/sub":         filepath.Join(src, "proj", "edpkg", "sub"),
		"lib/site/edpkg/__init__.py": filepath.Join(src, "proj", "edpkg", "__init__.py"),
		"lib/site/edpkg/sub/run":     filepath.Join(src, "proj", "edpkg", "sub", "run"),
	}
	paths := []string{"lib/site/other.py", "lib/site/edpkg/__init__.py", "lib/site/edpkg/sub/run"}
	var seen []string
	transform := func(rel string, data []byte) ([]byte, bool) {
		seen = append(seen, rel)
		return bytes.ReplaceAll(data, []byte("/old/prefix"), []byte("/new")), true
	}
	rewrite := func(string) bool { return true }
	got, _ := packBytes(t, root, paths, PackOptions{Source: func(rel string) string { return sources[rel] }, Rewrite: rewrite, Transform: transform})
	want, _ := packBytes(t, copied, paths, PackOptions{Rewrite: rewrite, Transform: transform})
	require.Equal(t, want, got, "a mapped file packs as the same file under the root")
	require.Contains(t, seen, "lib/site/edpkg/__init__.py")

	dest := t.TempDir()
	_, err := ExtractLayer(ctx, bytes.NewReader(got), dest, ExtractOptions{})
	require.NoError(t, err)
	tree := readTree(t, dest)
	require.Equal(t, "x = '/new'\n", tree["lib/site/edpkg/__init__.py"])
	require.Equal(t, "x:#!/bin/sh\n", tree["lib/site/edpkg/sub/run"])

	// Without the folders mapped, a missing parent is an error, not a guess.
	_, err = PackLayer(ctx, &bytes.Buffer{}, root, paths, PackOptions{Source: func(rel string) string {
		if strings.HasSuffix(rel, ".py") || strings.HasSuffix(rel, "/run") {
			return sources[rel]
		}
		return ""
	}})
	require.Error(t, err)

	// PackLayers gives the same bytes.
	var buf bytes.Buffer
	_, err = PackLayers(ctx, []LayerJob{{Root: root, Paths: paths, Writer: &buf,
		Options: PackOptions{Source: func(rel string) string { return sources[rel] }, Rewrite: rewrite, Transform: transform}}}, 2)
	require.NoError(t, err)
	require.Equal(t, got, buf.Bytes())
}
