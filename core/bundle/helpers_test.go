package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// tent is one entry of a hand-made tar.
type tent struct {
	name string
	typ  byte
	body string
	link string
	mode int64
	size int64 // if set, the header's size (body is written as given)
}

func file(name, body string) tent      { return tent{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) tent             { return tent{name: name, typ: tar.TypeDir} }
func symlink(name, target string) tent { return tent{name: name, typ: tar.TypeSymlink, link: target} }

// makeTar writes entries as a tar without any checks (hostile inputs too).
func makeTar(t testing.TB, entries ...tent) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body)), Format: tar.FormatPAX}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if e.size != 0 {
			h.Size = e.size
		}
		if e.typ == tar.TypeXGlobalHeader {
			h = &tar.Header{Typeflag: e.typ, PAXRecords: map[string]string{"comment": e.body}}
		} else if e.typ != tar.TypeReg {
			h.Size = 0
			if e.size != 0 {
				h.Size = e.size
			}
		}
		require.NoError(t, tw.WriteHeader(h))
		if len(e.body) > 0 {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Flush())
	// Close would complain about short entries; write the end blocks ourselves.
	b.Write(make([]byte, 1024))
	return b.Bytes()
}

func compress(t testing.TB, data []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	return enc.EncodeAll(data, nil)
}

// writeTree makes files under root: name -> content; a name ending in "/" is a
// directory, content "->target" a symlink, "x:" prefix an executable file.
func writeTree(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		switch {
		case strings.HasPrefix(content, "->"):
			require.NoError(t, os.Symlink(content[2:], p))
		case strings.HasPrefix(content, "x:"):
			require.NoError(t, os.WriteFile(p, []byte(content[2:]), 0o755))
		default:
			require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		}
	}
}

// readTree returns what is under root in the form writeTree takes, with the
// normalized mode of each file checked.
func readTree(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			require.NoError(t, err)
			out[rel] = "->" + target
		case fi.IsDir():
			out[rel+"/"] = ""
		default:
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			if fi.Mode().Perm()&0o111 != 0 {
				out[rel] = "x:" + string(data)
			} else {
				out[rel] = string(data)
			}
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// sandbox is a directory with a target inside and a sentinel file beside it,
// to check that nothing is ever written outside the target.
type sandbox struct {
	base, target, outside string
	links                 map[string]bool // escaping links the test made itself
}

// link makes an escaping symlink at name in the target, as a hostile earlier
// layer or user might have left.
func (s *sandbox) link(t testing.TB, name string) {
	p := filepath.Join(s.target, name)
	require.NoError(t, os.Symlink(s.outside, p))
	if s.links == nil {
		s.links = map[string]bool{}
	}
	s.links[p] = true
}

func newSandbox(t testing.TB) *sandbox {
	base := t.TempDir()
	s := &sandbox{base: base, target: filepath.Join(base, "target"), outside: filepath.Join(base, "outside")}
	require.NoError(t, os.MkdirAll(s.target, 0o755))
	require.NoError(t, os.MkdirAll(s.outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(s.outside, "sentinel"), []byte("keep"), 0o644))
	return s
}

// check fails if anything exists under base other than target's content and
// the untouched sentinel, or if a symlink in target resolves outside it.
func (s *sandbox) check(t testing.TB) {
	t.Helper()
	entries, err := os.ReadDir(s.base)
	require.NoError(t, err)
	for _, e := range entries {
		require.Contains(t, []string{"target", "outside"}, e.Name(), "written outside the target")
	}
	out, err := os.ReadDir(s.outside)
	require.NoError(t, err)
	require.Len(t, out, 1, "written into the sentinel directory")
	data, err := os.ReadFile(filepath.Join(s.outside, "sentinel"))
	require.NoError(t, err)
	require.Equal(t, "keep", string(data))
	realTarget, err := filepath.EvalSymlinks(s.target)
	require.NoError(t, err)
	_ = filepath.WalkDir(s.target, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 || s.links[p] {
			return nil
		}
		if r, err := filepath.EvalSymlinks(p); err == nil {
			rel, err := filepath.Rel(realTarget, r)
			require.NoError(t, err)
			require.False(t, rel == ".." || strings.HasPrefix(rel, "../"), "symlink %s resolves outside the target: %s", p, r)
		}
		return nil
	})
}
