package mode

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// ContractError says a mode returned something the Mode contract rules out
// (a lock file name with a slash, a file path outside the prefix, External
// files nobody asked for). It names the mode and the call.
type ContractError struct {
	Mode, Call, Problem string
}

func (e *ContractError) Error() string {
	return fmt.Sprintf("the %s mode broke the mode contract in %s: %s", e.Mode, e.Call, e.Problem)
}

// Checked wraps a mode driver so that what it returns is checked against
// the contract once, for every mode (like distribution's base storage
// driver): lock file names are plain file names, every path in a Files
// report is relative to the prefix and stays under it, External and Drop
// appear only when IncludeEditable was asked for, and IncludeEditable is
// asked only of a mode whose info declares Capabilities.IncludeEditable.
// The host wraps every mode it hands out in it.
func Checked(name string, info Info, m Mode) Mode {
	if c, ok := m.(*checked); ok && c.name == name {
		return c
	}
	return &checked{Mode: m, name: name, info: info}
}

type checked struct {
	Mode
	name string
	info Info
}

// ValidLockFileName reports whether name may be the name of a lock file: a
// plain file name, not hidden (lock files are written into
// WORKDIR/.starwhale/lock/ and the bundle).
func ValidLockFileName(name string) bool {
	return name != "" && name[0] != '.' && !strings.ContainsAny(name, `/\`)
}

func (c *checked) Lock(ctx context.Context, req LockRequest, ev Events) (Lock, error) {
	l, err := c.Mode.Lock(ctx, req, ev)
	if err != nil {
		return l, err
	}
	seen := map[string]bool{}
	for _, f := range l.Files {
		if !ValidLockFileName(f.Name) {
			return Lock{}, c.broke("Lock", "a lock file with a bad name %q (a plain file name, not starting with '.')", f.Name)
		}
		if seen[f.Name] {
			return Lock{}, c.broke("Lock", "the lock file %q twice", f.Name)
		}
		seen[f.Name] = true
	}
	for _, p := range l.Packages {
		if p.Name == "" || p.Version == "" {
			return Lock{}, c.broke("Lock", "a locked package without a name or version (%q %q)", p.Name, p.Version)
		}
	}
	return l, nil
}

func (c *checked) Files(ctx context.Context, req FilesRequest) (FilesReport, error) {
	if req.IncludeEditable && !c.info.Capabilities.IncludeEditable {
		return FilesReport{}, Errorf(ErrUnsupported, "the %s mode does not support --include-editable (it does not declare the include-editable capability): install editable packages normally (pip install, not pip install -e)", c.name)
	}
	rep, err := c.Mode.Files(ctx, req)
	if err != nil {
		return rep, err
	}
	for _, e := range rep.Exclude {
		if !underPrefix(strings.TrimSuffix(e, "/")) {
			return FilesReport{}, c.broke("Files", "an Exclude path %q outside the prefix", e)
		}
	}
	for _, p := range rep.Packages {
		for _, f := range p.Files {
			if !underPrefix(f) {
				return FilesReport{}, c.broke("Files", "%s owns %q, which is not a path under the prefix", p.Name, f)
			}
		}
		if !req.IncludeEditable && (len(p.External) > 0 || len(p.Drop) > 0) {
			return FilesReport{}, c.broke("Files", "External or Drop files for %s although IncludeEditable was not asked for", p.Name)
		}
		for _, f := range p.Drop {
			if !underPrefix(f) {
				return FilesReport{}, c.broke("Files", "%s drops %q, which is not a path under the prefix", p.Name, f)
			}
		}
		for _, x := range p.External {
			if !filepath.IsAbs(x.Src) {
				return FilesReport{}, c.broke("Files", "%s has an External file %q that is not an absolute path", p.Name, x.Src)
			}
			if !underPrefix(x.Dest) {
				return FilesReport{}, c.broke("Files", "%s puts External file %s at %q, which is not a path under the prefix", p.Name, x.Src, x.Dest)
			}
		}
	}
	return rep, nil
}

// underPrefix: p is slash-separated, relative, and does not climb out.
func underPrefix(p string) bool {
	return filepath.IsLocal(filepath.FromSlash(p))
}

func (c *checked) broke(call, format string, args ...any) error {
	return &ContractError{Mode: c.name, Call: call, Problem: "returned " + fmt.Sprintf(format, args...)}
}
