package condamode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/swcli/swcli/core/envpack"
	"github.com/swcli/swcli/core/mode"
)

// trampoline replaces a shebang that names the environment's python: /bin/sh
// runs the script again with the python beside it, wherever the environment
// now is; Python reads the second line as a string and ignores it.
const trampolineFmt = "#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/%s\" \"$0\" \"$@\"\n' '''\n"

// Relocate fixes an environment unpacked at Env.Prefix after being built at
// OldPrefix, as conda-pack's conda-unpack does:
//
//   - TextFiles: mode.PrefixPlaceholder and mode.WorkdirPlaceholder (and
//     OldPrefix) become Env.Prefix and Env.Workdir;
//   - BinaryFiles: every C string holding OldPrefix gets Env.Prefix instead,
//     padded with NUL bytes at the end of the string so the file keeps its
//     length and layout; a longer Env.Prefix is refused with ErrPrefixTooLong
//     before any file is changed;
//   - bin/: scripts whose shebang names a python in the environment get a
//     relocatable /bin/sh trampoline;
//   - conda-meta/*.json: absolute paths of the build machine's package cache
//     (extracted_package_dir, package_tarball_full_path, link.source) are
//     cleared, and sha256_in_prefix is written for the new prefix.
func (m *Mode) Relocate(ctx context.Context, req mode.RelocateRequest, ev mode.Events) error {
	env := req.Env
	if err := checkEnv(env); err != nil {
		return err
	}
	newPrefix := filepath.Clean(env.Prefix)
	old := strings.TrimRight(req.OldPrefix, "/")
	if len(req.BinaryFiles) > 0 && old == "" {
		return mode.Errorf(mode.ErrInvalid, "binary files to relocate but no old prefix given")
	}
	// Read and check every binary file first: nothing changes when one fails.
	type pending struct {
		path string
		data []byte
		mode os.FileMode
	}
	var bins []pending
	for _, rel := range req.BinaryFiles {
		p, err := inPrefix(newPrefix, rel)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return mode.Errorf(mode.ErrInvalid, "binary file %s: %v", rel, err)
		}
		if !bytes.Contains(b, []byte(old)) {
			continue
		}
		if len(newPrefix) > len(old) {
			return mode.Errorf(mode.ErrPrefixTooLong,
				"cannot relocate to %s: %d characters, longer than the packed prefix (%d) that binary files embed; choose a shorter --target-dir, or restore with --from-lock, which installs the same lock into this folder",
				newPrefix, len(newPrefix), len(old))
		}
		st, _ := os.Stat(p)
		bins = append(bins, pending{p, b, st.Mode()})
	}
	total := int64(len(req.TextFiles) + len(bins) + 2)
	var done int64
	step := func(msg string) {
		done++
		ev.Emit(mode.Event{Stage: "relocate", Current: done, Total: total, Message: msg})
	}
	for _, rel := range req.TextFiles {
		p, err := inPrefix(newPrefix, rel)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return mode.Errorf(mode.ErrInvalid, "text file %s: %v", rel, err)
		}
		nb := bytes.ReplaceAll(b, []byte(mode.PrefixPlaceholder), []byte(newPrefix))
		if env.Workdir != "" {
			nb = bytes.ReplaceAll(nb, []byte(mode.WorkdirPlaceholder), []byte(env.Workdir))
		}
		if old != "" && old != newPrefix {
			nb = bytes.ReplaceAll(nb, []byte(old), []byte(newPrefix))
		}
		if err := writeSame(p, b, nb); err != nil {
			return mode.Errorf(mode.ErrInternal, "relocate %s: %v", rel, err)
		}
		step(rel)
	}
	for _, f := range bins {
		nb := replaceCStrings(f.data, []byte(old), []byte(newPrefix))
		if err := writeSame(f.path, f.data, nb); err != nil {
			return mode.Errorf(mode.ErrInternal, "relocate %s: %v", f.path, err)
		}
		step(f.path)
	}
	if err := fixShebangs(newPrefix, old); err != nil {
		return err
	}
	step("bin/ shebangs")
	if err := scrubCondaMeta(newPrefix); err != nil {
		return err
	}
	step("conda-meta")
	return nil
}

// inPrefix resolves a relative path and refuses one that leaves the prefix.
func inPrefix(prefix, rel string) (string, error) {
	if filepath.IsAbs(rel) {
		return "", mode.Errorf(mode.ErrInvalid, "path %s must be relative to the prefix", rel)
	}
	p := filepath.Join(prefix, filepath.FromSlash(rel))
	if r, err := filepath.Rel(prefix, p); err != nil || r == ".." || strings.HasPrefix(r, "../") {
		return "", mode.Errorf(mode.ErrInvalid, "path %s leaves the prefix", rel)
	}
	return p, nil
}

// writeSame rewrites p with nb (keeping its mode) when it changed.
func writeSame(p string, old, nb []byte) error {
	if bytes.Equal(old, nb) {
		return nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	tmp := p + ".swcli-relocate"
	if err := os.WriteFile(tmp, nb, st.Mode().Perm()); err != nil {
		return err
	}
	if err := os.Chmod(tmp, st.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// replaceCStrings replaces old with new (not longer) inside every NUL-ended
// string holding old and pads the string's end with NULs, as conda does for
// binary prefixes, so offsets in the file do not move.
func replaceCStrings(data, old, new []byte) []byte {
	out := make([]byte, 0, len(data))
	i := 0
	for {
		j := bytes.Index(data[i:], old)
		if j < 0 {
			out = append(out, data[i:]...)
			return out
		}
		start := i + j
		end := bytes.IndexByte(data[start:], 0)
		if end < 0 {
			end = len(data)
		} else {
			end += start
		}
		out = append(out, data[i:start]...)
		s := bytes.ReplaceAll(data[start:end], old, new)
		out = append(out, s...)
		out = append(out, make([]byte, (end-start)-len(s))...)
		i = end
	}
}

// fixShebangs gives scripts in bin/ whose shebang names a python inside the
// environment (at its old or new place, or the placeholder) a relocatable
// trampoline; other shebangs into the environment get the new prefix.
func fixShebangs(prefix, old string) error {
	entries, err := os.ReadDir(filepath.Join(prefix, "bin"))
	if err != nil {
		return nil
	}
	roots := []string{prefix, mode.PrefixPlaceholder}
	if old != "" {
		roots = append(roots, old)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(prefix, "bin", e.Name())
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(b, []byte("#!")) {
			continue
		}
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			continue
		}
		line := strings.TrimSpace(string(b[2:nl]))
		interp, rest, _ := strings.Cut(line, " ")
		for _, r := range roots {
			if !strings.HasPrefix(interp, r+"/bin/") {
				continue
			}
			name := strings.TrimPrefix(interp, r+"/bin/")
			var nb []byte
			if strings.HasPrefix(name, "python") && rest == "" {
				if _, err := os.Stat(filepath.Join(prefix, "bin", name)); err != nil {
					name = "python"
				}
				nb = append([]byte(strings.ReplaceAll(trampolineFmt, "%s", name)), b[nl+1:]...)
			} else {
				nb = append([]byte("#!"+prefix+"/bin/"+name+strings.TrimSuffix(" "+rest, " ")+"\n"), b[nl+1:]...)
			}
			if err := writeSame(p, b, nb); err != nil {
				return mode.Errorf(mode.ErrInternal, "relocate bin/%s: %v", e.Name(), err)
			}
			break
		}
	}
	return nil
}

// scrubCondaMeta makes the conda-meta records true for the environment at
// prefix: the build machine's package-cache paths cleared, and
// sha256_in_prefix written again for every file conda wrote the prefix into
// (a path with a prefix_placeholder), from the file as it is now, so that
// conda install and conda remove in the restored environment see what conda
// itself would have recorded here.
func scrubCondaMeta(prefix string) error {
	paths, _ := filepath.Glob(filepath.Join(prefix, "conda-meta", "*.json"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return mode.Errorf(mode.ErrInternal, "read %s: %v", p, err)
		}
		var rec map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber() // keep sizes and timestamps exactly as written
		if dec.Decode(&rec) != nil {
			continue
		}
		// What the build machine left (bundles packed before packing
		// normalized it), then this prefix's hashes.
		changed := envpack.NormalizeCondaRecord(rec)
		for _, e := range envpack.CondaPlaceholderPaths(rec) {
			rel, _ := e["_path"].(string)
			full, err := inPrefix(prefix, rel)
			if rel == "" || err != nil {
				continue
			}
			sum, err := fileSHA256(full)
			if err != nil {
				continue // not here (left out when packing): nothing to describe
			}
			e["sha256_in_prefix"] = sum
			changed = true
		}
		if !changed {
			continue
		}
		nb, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return mode.Errorf(mode.ErrInternal, "%s: %v", p, err)
		}
		if err := writeSame(p, b, append(nb, '\n')); err != nil {
			return mode.Errorf(mode.ErrInternal, "write %s: %v", p, err)
		}
	}
	return nil
}

// fileSHA256 is the hex sha256 of a regular file.
func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
