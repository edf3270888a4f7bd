package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/spec"
)

// ensureEnv makes the environment when it is missing, half-made or NoCache
// is set, and installs the dependencies again when what runtime.yaml
// declares (including the content of the files it names) changed since.
func (s *Service) ensureEnv(ctx context.Context, getMode func() (mode.Mode, error), wd, relSpec string, rs *spec.Spec, env mode.Env, noCache bool) error {
	we := envOf(wd, rs.Mode)
	st, _ := ReadState(we.StatePath)
	dd, err := depsDigest(wd, rs)
	if err != nil {
		return err
	}
	if st != nil && st.State == StateReady && st.Prefix != env.Prefix {
		// The workdir was moved or copied: its environment points at the
		// old place. Make it again here.
		st = nil
	}
	if st != nil && st.State == StateReady && !noCache {
		if st.DepsDigest == dd {
			return nil
		}
		m, err := getMode()
		if err != nil {
			return err
		}
		s.stage("install dependencies", 0, int64(len(rs.Dependencies)))
		st.State = StateCreating
		if err := WriteState(we.StatePath, st); err != nil {
			return err
		}
		if len(rs.Dependencies) > 0 {
			if err := m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: rs.Dependencies}, s.Events); err != nil {
				return err
			}
		}
		st.DepsDigest = dd
		return s.ready(ctx, we, m, env, rs.Name, st)
	}
	// (Re)make it from scratch, the old one aside until the new one works.
	m, err := getMode()
	if err != nil {
		return err
	}
	st = &State{State: StateCreating, Mode: rs.Mode, Name: rs.Name, Python: rs.Python, Prefix: env.Prefix, DepsDigest: dd}
	rep, err := we.replace(st)
	if err != nil {
		return err
	}
	if err = s.makeEnv(ctx, m, env, rs.Dependencies); err == nil {
		err = s.ready(ctx, we, m, env, rs.Name, st)
	}
	rep.done(err)
	return err
}

// depsDigest hashes what the environment must hold: the normalized spec and
// the content of every file it names.
func depsDigest(wd string, rs *spec.Spec) (string, error) {
	h := sha256.New()
	norm, err := rs.Normalized()
	if err != nil {
		return "", err
	}
	h.Write(norm)
	for _, f := range rs.Files() {
		files, err := walkRel(wd, f)
		if err != nil {
			return "", err
		}
		for _, rel := range files {
			if err := digestEntry(h, wd, rel); err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digestEntry adds one entry of a walked dependency to h: a file by its
// content, a symlink by its target, a folder by its name (a files: src
// folder holds folders; what is in them is hashed entry by entry).
func digestEntry(h io.Writer, wd, rel string) error {
	full := filepath.Join(wd, filepath.FromSlash(rel))
	st, err := os.Lstat(full)
	if err != nil {
		return fmt.Errorf("dependency digest: %w", err)
	}
	switch {
	case st.IsDir():
		fmt.Fprintf(h, "%s/\x00dir\n", rel)
	case st.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return fmt.Errorf("dependency digest: %w", err)
		}
		fmt.Fprintf(h, "%s\x00link\x00%s\n", rel, target)
	default:
		data, err := os.ReadFile(full)
		if err != nil {
			return fmt.Errorf("dependency digest: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%x\n", rel, sha256.Sum256(data))
	}
	return nil
}

// walkRel lists the files of rel (a file, or a folder walked) under wd.
func walkRel(wd, rel string) ([]string, error) {
	full := filepath.Join(wd, filepath.FromSlash(rel))
	st, err := os.Stat(full)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{filepath.ToSlash(filepath.Clean(rel))}, nil
	}
	return bundle.WalkFiles(wd, filepath.ToSlash(filepath.Clean(rel)))
}
