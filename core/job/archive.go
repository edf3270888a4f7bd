package job

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/internal/atomicfile"
)

// An exported job (`swcli job export ID FILE`) is one deterministic
// tar+zstd stream (core/bundle's layer format: sorted entries, zero times
// and owners, fixed modes and compression), holding:
//
//	export.json   the index: format, job id, and every file below with its size and sha256
//	job.json      the record, with dir and log left empty (they are where it is imported)
//	log           the handler's output, when it started
//	output/...    what the handler wrote to SW_JOB_DIR/output
//
// The model and datasets are not in it: the record names their exact
// versions, which are copied as versions (swcli model copy ...), so that
// Rerun finds them in the store. Exporting the same ended job twice gives
// the same bytes.
const (
	indexName     = "export.json"
	exportFormat  = 1
	maxIndexBytes = 16 << 20
	// maxImportFiles bounds the entries an imported archive may hold.
	maxImportFiles = 1 << 20
)

// maxImportBytes bounds the unpacked bytes of an imported archive, so a
// small compressed file cannot fill the disk (a variable for its test).
var maxImportBytes int64 = 64 << 30

// index is export.json.
type index struct {
	Format int         `json:"format"`
	ID     string      `json:"id"`
	Files  []indexFile `json:"files"`
}

type indexFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ArchiveError says an archive cannot be imported: which file and why.
type ArchiveError struct {
	File string
	Msg  string
}

func (e *ArchiveError) Error() string {
	return fmt.Sprintf("%s is not an importable job archive: %s", e.File, e.Msg)
}

// ExistsError says an imported job is here already.
type ExistsError struct{ ID string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("job %s is here already; remove it first (swcli job remove %s) to import it again", e.ID, e.ID)
}

// idPattern is what newID makes.
var idPattern = regexp.MustCompile(`^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$`)

// Export writes ended job id (record, log, output/) to w as an archive (see
// indexName) and returns its record.
func (j Jobs) Export(ctx context.Context, id string, w io.Writer) (*Record, error) {
	r, err := j.Get(id)
	if err != nil {
		return nil, err
	}
	if r.Status == Running {
		return nil, &RunningError{ID: r.ID}
	}
	dir := j.dir(r.ID)
	portable := *r
	portable.Dir, portable.Log = "", ""
	rec, err := json.MarshalIndent(&portable, "", "  ")
	if err != nil {
		return nil, err
	}
	rec = append(rec, '\n')
	paths := []string{"job.json"}
	if _, err := os.Lstat(filepath.Join(dir, "log")); err == nil {
		paths = append(paths, "log")
	}
	out, err := bundle.WalkFiles(dir, "output")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	paths = append(paths, out...)
	ix := index{Format: exportFormat, ID: r.ID, Files: []indexFile{}}
	for _, p := range paths {
		f, err := sumOf(dir, p, rec)
		if err != nil {
			return nil, err
		}
		if f != nil {
			ix.Files = append(ix.Files, *f)
		}
	}
	ixb, err := json.MarshalIndent(&ix, "", "  ")
	if err != nil {
		return nil, err
	}
	// export.json and job.json are made here: PackLayer packs them from
	// Transform (root/export.json does not exist; Source points it at
	// job.json, which Transform replaces as well).
	content := map[string][]byte{indexName: append(ixb, '\n'), "job.json": rec}
	_, err = bundle.PackLayer(ctx, w, dir, append([]string{indexName}, paths...), bundle.PackOptions{
		Rewrite: func(rel string) bool { return content[rel] != nil },
		Transform: func(rel string, _ []byte) ([]byte, bool) {
			b, ok := content[rel]
			return b, ok
		},
		Source: func(rel string) string {
			if rel == indexName {
				return filepath.Join(dir, "job.json")
			}
			return ""
		},
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// sumOf is the index entry of the regular file p of dir (rec for
// job.json when given), nil for a folder. A symlink is refused: an import would not
// take it.
func sumOf(dir, p string, rec []byte) (*indexFile, error) {
	if p == "job.json" && rec != nil {
		s := sha256.Sum256(rec)
		return &indexFile{Path: p, Size: int64(len(rec)), SHA256: hex.EncodeToString(s[:])}, nil
	}
	full := filepath.Join(dir, filepath.FromSlash(p))
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, err
	}
	switch {
	case fi.IsDir():
		return nil, nil
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("job output %s is not a regular file; an exported job holds files only", full)
	}
	f, err := os.Open(full)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, err
	}
	return &indexFile{Path: p, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Import reads an archive Export wrote (file names it in errors) and adds
// the job to j, under its own id. It checks everything before the job
// appears: the archive's entries are safe paths (core/bundle's reader), are
// exactly the files export.json lists, with their sizes and sha256; the
// record's id is a job id and the index's; the job has ended; its outputs
// are the files under output/; its versions are sha256 digests. A job of
// that id here already is refused (ExistsError). The job folder appears
// whole (a rename) or not at all.
func (j Jobs) Import(ctx context.Context, file string, r io.Reader) (*Record, error) {
	bad := func(format string, args ...any) error {
		return &ArchiveError{File: file, Msg: fmt.Sprintf(format, args...)}
	}
	if err := os.MkdirAll(j.Dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(j.Dir, ".import-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if _, err := bundle.ExtractLayer(ctx, r, tmp, bundle.ExtractOptions{MaxFiles: maxImportFiles, MaxBytes: maxImportBytes}); err != nil {
		return nil, bad("%v", err)
	}
	ix, err := readIndex(tmp)
	if err != nil {
		return nil, bad("%s: %v", indexName, err)
	}
	if err := checkFiles(tmp, ix); err != nil {
		return nil, bad("%v", err)
	}
	rec, err := readRecord(filepath.Join(tmp, "job.json"))
	if err != nil {
		return nil, bad("job.json: %v", err)
	}
	if err := checkRecord(rec, ix, outputs(filepath.Join(tmp, "output"))); err != nil {
		return nil, bad("job.json: %v", err)
	}
	dest := j.dir(rec.ID)
	if _, err := os.Lstat(dest); err == nil {
		return nil, &ExistsError{ID: rec.ID}
	}
	rec.Dir, rec.Log = dest, filepath.Join(dest, "log")
	if err := os.Remove(filepath.Join(tmp, indexName)); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "output"), 0o755); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(tmp, "job.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dest); err != nil {
		if _, serr := os.Lstat(dest); serr == nil {
			return nil, &ExistsError{ID: rec.ID} // imported by another swcli meanwhile
		}
		return nil, err
	}
	return rec, nil
}

func readIndex(dir string) (*index, error) {
	p := filepath.Join(dir, indexName)
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, errors.New("missing (an archive of swcli job export starts with it)")
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxIndexBytes {
		return nil, fmt.Errorf("not a regular file of at most %d bytes", maxIndexBytes)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var ix index
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ix); err != nil {
		return nil, err
	}
	if ix.Format != exportFormat {
		return nil, fmt.Errorf("format %d; this swcli reads format %d", ix.Format, exportFormat)
	}
	return &ix, nil
}

// checkFiles checks that the tree under dir is export.json and exactly the
// files ix lists (job.json, log, output/...), each of its size and sha256.
func checkFiles(dir string, ix *index) error {
	want := map[string]indexFile{}
	for _, f := range ix.Files {
		if !allowedPath(f.Path) {
			return fmt.Errorf("%s lists %q; allowed: job.json, log and files under output/", indexName, f.Path)
		}
		if _, dup := want[f.Path]; dup {
			return fmt.Errorf("%s lists %s twice", indexName, f.Path)
		}
		want[f.Path] = f
	}
	if _, ok := want["job.json"]; !ok {
		return fmt.Errorf("%s does not list job.json", indexName)
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == "." || rel == indexName:
			return nil
		case d.IsDir():
			if rel == "output" || strings.HasPrefix(rel, "output/") {
				return nil
			}
			return fmt.Errorf("unexpected folder %s; allowed: output/", rel)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s is not a regular file; an exported job holds files only", rel)
		}
		f, ok := want[rel]
		if !ok {
			return fmt.Errorf("%s is not listed in %s", rel, indexName)
		}
		got, err := sumOf(dir, rel, nil)
		if err != nil {
			return err
		}
		if got.Size != f.Size || got.SHA256 != f.SHA256 {
			return fmt.Errorf("%s is %d bytes of sha256 %s; %s says %d bytes of sha256 %s",
				rel, got.Size, got.SHA256, indexName, f.Size, f.SHA256)
		}
		seen[rel] = true
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range ix.Files {
		if !seen[f.Path] {
			return fmt.Errorf("%s lists %s, which the archive does not hold", indexName, f.Path)
		}
	}
	return nil
}

func allowedPath(p string) bool {
	if p == "job.json" || p == "log" {
		return true
	}
	rest, ok := strings.CutPrefix(p, "output/")
	return ok && rest != "" && !slices.Contains(strings.Split(rest, "/"), "..") && !strings.Contains(rest, "//")
}

func readRecord(p string) (*Record, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// checkRecord checks an imported record against its index and the files
// found under its output/.
func checkRecord(r *Record, ix *index, out []string) error {
	if !idPattern.MatchString(r.ID) {
		return fmt.Errorf("id %q is not a job id (YYYYMMDD-HHMMSS-6 hex digits)", r.ID)
	}
	if r.ID != ix.ID {
		return fmt.Errorf("id %s, but %s says %s", r.ID, indexName, ix.ID)
	}
	if r.RerunOf != "" && !idPattern.MatchString(r.RerunOf) {
		return fmt.Errorf("rerun_of %q is not a job id", r.RerunOf)
	}
	switch r.Status {
	case Succeeded, Failed, Cancelled:
	default:
		return fmt.Errorf("status %q; an exported job has ended (%s, %s or %s)", r.Status, Succeeded, Failed, Cancelled)
	}
	arts := append([]Artifact{}, r.Datasets...)
	for _, a := range []*Artifact{r.Runtime, r.Model} {
		if a != nil {
			arts = append(arts, *a)
		}
	}
	for _, a := range arts {
		if err := spec.ValidateName(a.Name); err != nil {
			return fmt.Errorf("an artifact's name %q: %v", a.Name, err)
		}
		d, err := digest.Parse(a.Digest)
		if err != nil || d.Algorithm() != digest.SHA256 {
			return fmt.Errorf("%s: digest %q is not a sha256 digest", a.Name, a.Digest)
		}
	}
	want := slices.Clone(r.Output)
	slices.Sort(want)
	if !slices.Equal(want, out) {
		return fmt.Errorf("output lists %v, but the archive's output/ holds %v", r.Output, out)
	}
	return nil
}
