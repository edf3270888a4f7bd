package job

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/bundle"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// endedJob writes an ended job with a log and two outputs into j.
func endedJob(t *testing.T, j Jobs, id string) *Record {
	t.Helper()
	dir := j.dir(id)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "output", "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "log"), []byte("evaluated 42\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "output", "result.txt"), []byte("score 42\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "output", "sub", "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	code := 0
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	end := start.Add(time.Second)
	r := &Record{ID: id, Status: Succeeded, Start: start, End: &end, ExitCode: &code, Dir: dir, Log: filepath.Join(dir, "log"),
		Runtime:  &Artifact{Name: "rt", Project: "self", Digest: testDigest, Short: "0123456789ab", URI: "rt", Exact: "local/project/self/runtime/rt/version/" + testDigest},
		Model:    &Artifact{Name: "mnist", Project: "self", Digest: testDigest, Short: "0123456789ab", URI: "mnist", Exact: "local/project/self/model/mnist/version/" + testDigest},
		Datasets: []Artifact{}, Command: []string{"/bin/sh", "-c", "python evaluate.py"}, Output: []string{"result.txt", "sub/run.sh"}}
	require.NoError(t, j.write(r))
	return r
}

func export(t *testing.T, j Jobs, id string) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := j.Export(context.Background(), id, &buf)
	require.NoError(t, err)
	return buf.Bytes()
}

func TestExportImport(t *testing.T) {
	ctx := context.Background()
	src := In(t.TempDir())
	const id = "20260102-030405-abcdef"
	orig := endedJob(t, src, id)
	a := export(t, src, id)
	assert.Equal(t, a, export(t, src, id), "the same job exports to the same bytes")

	dst := In(t.TempDir())
	rec, err := dst.Import(ctx, "job.swjob", bytes.NewReader(a))
	require.NoError(t, err)
	assert.Equal(t, dst.dir(id), rec.Dir)
	assert.Equal(t, filepath.Join(dst.dir(id), "log"), rec.Log)
	got, err := dst.Get(id)
	require.NoError(t, err)
	want := *orig
	want.Dir, want.Log = rec.Dir, rec.Log
	assert.Equal(t, &want, got)
	for _, f := range []string{"log", "output/result.txt", "output/sub/run.sh"} {
		w, err := os.ReadFile(filepath.Join(src.dir(id), f))
		require.NoError(t, err)
		g, err := os.ReadFile(filepath.Join(dst.dir(id), f))
		require.NoError(t, err)
		assert.Equal(t, w, g, f)
	}
	st, err := os.Stat(filepath.Join(dst.dir(id), "output", "sub", "run.sh"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	assert.NoFileExists(t, filepath.Join(dst.dir(id), indexName))
	// Exported again from here: the same bytes (dir and log are not in it).
	assert.Equal(t, a, export(t, dst, id))

	_, err = dst.Import(ctx, "job.swjob", bytes.NewReader(a))
	var ee *ExistsError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, id, ee.ID)

	// A running job is not exported.
	running := endedJob(t, src, "20260102-030406-000000")
	running.Status, running.PID, running.PIDStart = Running, os.Getpid(), selfStart()
	require.NoError(t, src.write(running))
	_, err = src.Export(ctx, running.ID, &bytes.Buffer{})
	var re *RunningError
	require.ErrorAs(t, err, &re)
}

// repack extracts archive a, lets edit change the tree (and, with reindex,
// writes export.json again to match it) and packs it again.
func repack(t *testing.T, a []byte, reindex bool, edit func(dir string)) []byte {
	t.Helper()
	dir := t.TempDir()
	_, err := bundle.ExtractLayer(context.Background(), bytes.NewReader(a), dir, bundle.ExtractOptions{})
	require.NoError(t, err)
	edit(dir)
	if reindex {
		var ix index
		b, err := os.ReadFile(filepath.Join(dir, indexName))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &ix))
		ix.Files = nil
		paths, err := bundle.WalkFiles(dir, "")
		require.NoError(t, err)
		for _, p := range paths {
			if p == indexName {
				continue
			}
			f, err := sumOf(dir, p, nil)
			require.NoError(t, err)
			if f != nil {
				ix.Files = append(ix.Files, *f)
			}
		}
		b, err = json.Marshal(ix)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, indexName), b, 0o644))
	}
	paths, err := bundle.WalkFiles(dir, "")
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = bundle.PackLayer(context.Background(), &buf, dir, paths, bundle.PackOptions{})
	require.NoError(t, err)
	return buf.Bytes()
}

func editRecord(t *testing.T, f func(r map[string]any)) func(string) {
	return func(dir string) {
		p := filepath.Join(dir, "job.json")
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		var r map[string]any
		require.NoError(t, json.Unmarshal(b, &r))
		f(r)
		b, err = json.Marshal(r)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
}

// rawTar is a tar+zstd of the given entries, as a hostile archive would be.
func rawTar(t *testing.T, names ...string) []byte {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	require.NoError(t, err)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte("x"))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestImportTampered(t *testing.T) {
	src := In(t.TempDir())
	const id = "20260102-030405-abcdef"
	endedJob(t, src, id)
	a := export(t, src, id)
	for _, c := range []struct {
		name    string
		archive func() []byte
		want    string
	}{
		{"an output changed", func() []byte {
			return repack(t, a, false, func(d string) { writeFile(t, filepath.Join(d, "output", "result.txt"), "score 99\n") })
		}, "output/result.txt is 9 bytes of sha256"},
		{"a file added", func() []byte {
			return repack(t, a, false, func(d string) { writeFile(t, filepath.Join(d, "output", "extra"), "x") })
		}, "output/extra is not listed in export.json"},
		{"a file removed", func() []byte {
			return repack(t, a, false, func(d string) { require.NoError(t, os.Remove(filepath.Join(d, "log"))) })
		}, "export.json lists log, which the archive does not hold"},
		{"an unexpected top-level file, indexed", func() []byte {
			return repack(t, a, true, func(d string) { writeFile(t, filepath.Join(d, "evil.sh"), "x") })
		}, `export.json lists "evil.sh"; allowed: job.json, log and files under output/`},
		{"an output the record does not list", func() []byte {
			return repack(t, a, true, func(d string) { writeFile(t, filepath.Join(d, "output", "extra"), "x") })
		}, "output lists [result.txt sub/run.sh], but the archive's output/ holds [extra result.txt sub/run.sh]"},
		{"the id changed in the record", func() []byte {
			return repack(t, a, true, editRecord(t, func(r map[string]any) { r["id"] = "20260102-030405-000000" }))
		}, "id 20260102-030405-000000, but export.json says " + id},
		{"an id that is a path", func() []byte {
			return repack(t, a, true, func(d string) {
				editRecord(t, func(r map[string]any) { r["id"] = "../../etc" })(d)
			})
		}, `id "../../etc" is not a job id`},
		{"a running job", func() []byte {
			return repack(t, a, true, editRecord(t, func(r map[string]any) { r["status"] = "running" }))
		}, `status "running"; an exported job has ended`},
		{"a bad digest", func() []byte {
			return repack(t, a, true, editRecord(t, func(r map[string]any) { r["runtime"].(map[string]any)["digest"] = "sha256:../x" }))
		}, `rt: digest "sha256:../x" is not a sha256 digest`},
		{"a name that is a path", func() []byte {
			return repack(t, a, true, editRecord(t, func(r map[string]any) { r["model"].(map[string]any)["name"] = "../x" }))
		}, `an artifact's name "../x"`},
		{"an unknown record field", func() []byte {
			return repack(t, a, true, editRecord(t, func(r map[string]any) { r["shell"] = "rm -rf /" }))
		}, `job.json: json: unknown field "shell"`},
		{"no index", func() []byte {
			return repack(t, a, false, func(d string) { require.NoError(t, os.Remove(filepath.Join(d, indexName))) })
		}, "export.json: missing"},
		{"a path out of the archive", func() []byte { return rawTar(t, "export.json", "../escaped") }, "path escapes the destination"},
		{"an absolute path", func() []byte { return rawTar(t, "/tmp/abs") }, "absolute"},
		{"truncated", func() []byte { return a[:len(a)/2] }, "is not an importable job archive"},
		{"not an archive", func() []byte { return []byte("hello") }, "is not an importable job archive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			dst := In(filepath.Join(root, "store"))
			_, err := dst.Import(context.Background(), "job.swjob", bytes.NewReader(c.archive()))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "\n")
			var ae *ArchiveError
			assert.True(t, errors.As(err, &ae), "%T", err)
			ents, err := os.ReadDir(dst.Dir)
			require.NoError(t, err)
			assert.Empty(t, ents, "nothing is left in the jobs folder")
			assert.NoFileExists(t, filepath.Join(root, "escaped"))
		})
	}
}

func TestImportSizeBounded(t *testing.T) {
	src := In(t.TempDir())
	const id = "20260102-030405-abcdef"
	endedJob(t, src, id)
	a := export(t, src, id)
	old := maxImportBytes
	maxImportBytes = 1024
	t.Cleanup(func() { maxImportBytes = old })
	dst := In(t.TempDir())
	_, err := dst.Import(context.Background(), "job.swjob", bytes.NewReader(a))
	require.Error(t, err, "an archive that unpacks to more than the bound is refused")
	ents, _ := os.ReadDir(dst.Dir)
	for _, e := range ents {
		assert.NotContains(t, e.Name(), id, "nothing of the job appears")
	}
	maxImportBytes = old
	_, err = dst.Import(context.Background(), "job.swjob", bytes.NewReader(a))
	require.NoError(t, err)
}
