package bundle

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// Normalized modes.
const (
	modeDir     = 0o755
	modeExec    = 0o755
	modeFile    = 0o644
	modeSymlink = 0o777
)

// epoch is the modification time of every entry we write.
var epoch = time.Unix(0, 0)

// header returns a normalized tar header: zero time and owners, no names, PAX
// format (which adds records only for long names and big sizes, and never
// writes atime or ctime).
func header(typ byte, name string, size, mode int64, link string) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Linkname: link,
		Size:     size,
		Mode:     mode,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
}

func dirHeader(name string) *tar.Header {
	return header(tar.TypeDir, name+"/", 0, modeDir, "")
}

func fileHeader(name string, size int64, exec bool) *tar.Header {
	return header(tar.TypeReg, name, size, fileMode(exec), "")
}

func symlinkHeader(name, target string) *tar.Header {
	return header(tar.TypeSymlink, name, 0, modeSymlink, target)
}

func fileMode(exec bool) int64 {
	if exec {
		return modeExec
	}
	return modeFile
}

func isExec(m fs.FileMode) bool { return m&0o111 != 0 }

// checkRel checks a slash-separated relative path (no trailing slash) and
// returns why it is not allowed, or "" if it is. escape is the reason given
// for a ".." segment.
func checkRel(p, escape string) string {
	switch {
	case p == "":
		return "empty path"
	case strings.HasPrefix(p, "/"):
		return "absolute path"
	case strings.IndexByte(p, 0) >= 0:
		return "path contains a NUL byte"
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "..":
			return escape
		case "":
			return "path has an empty segment"
		case ".":
			return `path has a "." segment`
		}
	}
	return ""
}

// checkSymlinkTarget checks the target of a symlink at name (a clean relative
// path) and returns why it is not allowed, or "" if it is. A target must be
// relative, and resolve inside the root when read relative to the link's
// folder. To keep that true whatever other symlinks exist, ".." may only lead
// the target: "../../lib/x" is fine, "lib/../x" is not (lib could be a link).
func checkSymlinkTarget(name, target string) string {
	switch {
	case target == "":
		return "empty symlink target"
	case strings.IndexByte(target, 0) >= 0:
		return "symlink target contains a NUL byte"
	case strings.HasPrefix(target, "/"):
		return fmt.Sprintf("symlink target %q is absolute", target)
	}
	depth := strings.Count(name, "/")
	ups, named := 0, false
	for seg := range strings.SplitSeq(target, "/") {
		switch seg {
		case "", ".":
		case "..":
			if named {
				return fmt.Sprintf(`symlink target %q has ".." after a name`, target)
			}
			ups++
			if ups > depth {
				return fmt.Sprintf("symlink target %q leaves the root", target)
			}
		default:
			named = true
		}
	}
	return ""
}
