package dockerize

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/swcli/swcli/internal/atomicfile"
)

// contextTime is the modification time of every context file, so an
// engine that keeps file times (COPY does) makes the same layer from the
// same context.
var contextTime = time.Unix(0, 0).UTC()

// WriteContext writes a plan's files into dir (made if missing; files of an
// earlier context are replaced, each atomically), with the plan's modes and
// a fixed modification time (the folders' too): the same plan gives the
// same folder.
func WriteContext(p *Plan, dir string) error {
	for _, f := range p.Files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := writeFile(f, dst); err != nil {
			return fmt.Errorf("build context %s: %w", dst, err)
		}
		if err := os.Chtimes(dst, contextTime, contextTime); err != nil {
			return err
		}
	}
	for _, d := range contextDirs(p) {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(d)), contextTime, contextTime); err != nil {
			return err
		}
	}
	return os.Chtimes(dir, contextTime, contextTime)
}

func writeFile(f File, dst string) error {
	if f.Source == "" {
		return atomicfile.Write(dst, f.Content, f.Mode)
	}
	if filepath.Clean(f.Source) == filepath.Clean(dst) {
		return os.Chmod(dst, f.Mode) // already in place (the exported bundle)
	}
	in, err := os.Open(f.Source)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(f.Mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// contextDirs lists the folders the plan's files are in, deepest first.
func contextDirs(p *Plan) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range p.Files {
		for d := filepath.ToSlash(filepath.Dir(f.Path)); d != "." && !seen[d]; d = filepath.ToSlash(filepath.Dir(d)) {
			seen[d] = true
			out = append(out, d)
		}
	}
	// Longer paths first: a child's time is set before its parent's.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}
