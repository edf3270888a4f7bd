package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/swcli/swcli/core/mode"
)

// fileRef is one workdir file a spec references.
type fileRef struct {
	path     string
	dirOK    bool // files[].src may be a folder
	optional bool // the implicit requirements.txt
	at       position
}

// refs lists the files the spec references, in dependency order.
func (s *Spec) refs() []fileRef {
	var out []fileRef
	at := func(i, item int) position {
		if i >= len(s.pos) {
			return position{field: fmt.Sprintf("dependencies[%d]", i)}
		}
		if item >= 0 && item < len(s.pos[i].items) {
			return s.pos[i].items[item]
		}
		return s.pos[i].position
	}
	for i, d := range s.Dependencies {
		switch d.Kind {
		case mode.DepPipReq, mode.DepCondaEnv:
			out = append(out, fileRef{path: d.Path, optional: i == 0 && s.DefaultPipReq, at: at(i, -1)})
		case mode.DepWheel:
			for j, w := range d.Packages {
				out = append(out, fileRef{path: w, at: at(i, j)})
			}
		case mode.DepFile:
			out = append(out, fileRef{path: d.Src, dirOK: true, at: at(i, -1)})
		}
	}
	return out
}

// Files returns every workdir-relative file the spec references, in
// dependency order and without repeats: requirement files, conda env files,
// wheels and files[].src (which may be a folder; it is returned as given and
// the caller walks it). The implicit requirements.txt (DefaultPipReq) is
// included; call Resolve first to drop it when it is absent.
func (s *Spec) Files() []string {
	var out []string
	for _, r := range s.refs() {
		if !slices.Contains(out, r.path) {
			out = append(out, r.path)
		}
	}
	return out
}

// Check verifies that every file the spec references exists under workdir,
// is a regular file (files[].src may also be a folder), and stays inside
// workdir after following links. The implicit requirements.txt is skipped
// when absent. Errors are *Error naming the runtime.yaml field and path.
func (s *Spec) Check(workdir string) error {
	root, err := filepath.Abs(workdir)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return &Error{File: s.file, Msg: fmt.Sprintf("workdir %q: %s", workdir, reason(err))}
	}
	for _, r := range s.refs() {
		if err := s.checkRef(root, workdir, r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Spec) checkRef(root, workdir string, r fileRef) error {
	fail := func(format string, args ...any) error {
		return &Error{File: s.file, Line: r.at.line, Col: r.at.col, Field: r.at.field,
			Msg: fmt.Sprintf("%q ", r.path) + fmt.Sprintf(format, args...)}
	}
	if msg := checkRelPath(r.path); msg != "" {
		return fail("%s", msg)
	}
	full := filepath.Join(root, filepath.FromSlash(r.path))
	fi, err := os.Stat(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if r.optional {
				return nil
			}
			return fail("does not exist in workdir %s", workdir)
		}
		return fail("cannot be read: %s", reason(err))
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return fail("cannot be read: %s", reason(err))
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fail("is a link that leaves the workdir (to %s); allowed: files inside the workdir", real)
	}
	switch {
	case fi.Mode().IsRegular():
	case fi.IsDir() && r.dirOK:
	case fi.IsDir():
		return fail("is a folder; allowed: a file")
	default:
		return fail("is not a regular file (%s); allowed: a file", fi.Mode().Type())
	}
	return nil
}

// reason strips the path from an *fs.PathError, which the caller already
// names.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Resolve checks the spec against workdir (see Check) and returns a copy in
// which the implicit requirements.txt is dropped when absent and kept as an
// ordinary dependency when present (DefaultPipReq is false in the copy), so
// Dependencies, Files and Normalized describe what the workdir really holds.
func (s *Spec) Resolve(workdir string) (*Spec, error) {
	if err := s.Check(workdir); err != nil {
		return nil, err
	}
	c := *s
	c.Dependencies = slices.Clone(s.Dependencies)
	c.pos = slices.Clone(s.pos)
	if s.DefaultPipReq && len(c.Dependencies) > 0 {
		_, err := os.Stat(filepath.Join(workdir, filepath.FromSlash(c.Dependencies[0].Path)))
		if err != nil {
			c.Dependencies = c.Dependencies[1:]
			if len(c.pos) > 0 {
				c.pos = c.pos[1:]
			}
		}
		c.DefaultPipReq = false
	}
	if c.Dependencies == nil {
		c.Dependencies = []mode.Dependency{}
	}
	return &c, nil
}
