package venvmode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/internal/treecache"
	"github.com/swcli/swcli/sdk/pyenv"
)

// The venv skeleton: what `python -m venv --without-pip PREFIX` writes
// (pyvenv.cfg, bin/python symlinks, activate scripts, lib/pythonX.Y/
// site-packages, lib64, include, .gitignore on 3.13) is made by that
// command once per interpreter build, into a tree cache entry, and every
// later venv is a copy of it with the template's prefix replaced by its
// own. The interpreter's own venv module writes the template, so every
// Python version's layout and script text come out as it makes them; only
// the prefix differs, and it is replaced where venv wrote it (the files
// are small and copied, never linked).
//
// The replacement is exact only when neither prefix needs shell quoting
// (venv 3.13 quotes it in the activate scripts) and the venv's name (the
// prefix's base name, in the prompt) is the template's: the template is
// keyed by the base name, and a prefix that needs quoting gets
// `python -m venv` itself.

// shellSafe is shlex.quote's set of characters that need no quoting.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// errNoSkeleton says the skeleton cannot be copied for this prefix.
var errNoSkeleton = errors.New("no venv skeleton")

// templatePrefixFile names, inside an entry, the file that holds the
// prefix the template was made at.
const templatePrefixFile = "prefix"

// makeVenv makes the venv skeleton at prefix for it: a copy of the
// template when it can, else by running `python -m venv --without-pip`.
func (m *Mode) makeVenv(ctx context.Context, it interpreter, env mode.Env, prefix string, ev mode.Events) error {
	err := m.copySkeleton(ctx, it, env, prefix, ev)
	if err == nil {
		return nil
	}
	if !errors.Is(err, errNoSkeleton) {
		return err
	}
	m.log.Debug("venv skeleton not copied; running python -m venv", "reason", err)
	// A copy that failed half-way leaves files behind.
	if ents, _ := os.ReadDir(prefix); len(ents) > 0 {
		for _, e := range ents {
			_ = os.RemoveAll(filepath.Join(prefix, e.Name()))
		}
	}
	return m.runVenv(ctx, it, prefix, ev)
}

func (m *Mode) runVenv(ctx context.Context, it interpreter, prefix string, ev mode.Events) error {
	args := []string{"-m", "venv", "--without-pip", prefix}
	_, err := m.run(ctx, command{name: it.Path, args: args, what: "python " + strings.Join(args, " ")}, ev, true)
	return err
}

func (m *Mode) copySkeleton(ctx context.Context, it interpreter, env mode.Env, prefix string, ev mode.Events) error {
	if it.ID == "" {
		return fmt.Errorf("%w: interpreter %s was not identified", errNoSkeleton, it.Path)
	}
	if !shellSafe.MatchString(prefix) {
		return fmt.Errorf("%w: prefix %s needs shell quoting", errNoSkeleton, prefix)
	}
	base := filepath.Base(prefix)
	root, err := cacheDir(env, "venv-skeleton")
	if err != nil {
		return fmt.Errorf("%w: %v", errNoSkeleton, err)
	}
	h := sha256.Sum256([]byte("skeleton v1\x00" + it.ID + "\x00" + base))
	key := "py" + it.Patch + "-" + hex.EncodeToString(h[:12])
	cache := &treecache.Cache{Root: root, Logf: func(f string, a ...any) { m.log.Debug(fmt.Sprintf(f, a...)) }}
	fill := func(dir string) error {
		tp := filepath.Join(dir, base)
		if !shellSafe.MatchString(tp) {
			return fmt.Errorf("%w: the cache folder %s needs shell quoting", errNoSkeleton, dir)
		}
		if err := m.runVenv(ctx, it, tp, ev); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, templatePrefixFile), []byte(tp), 0o644); err != nil {
			return err
		}
		return treecache.WriteRequires(dir, []string{it.Path})
	}
	return cache.Use(ctx, key, fill, func(dir string, man treecache.Manifest, filled bool) error {
		if filled {
			m.log.Debug("venv skeleton cached", "key", key, "python", it.Path)
		}
		old, err := os.ReadFile(filepath.Join(dir, templatePrefixFile))
		if err != nil {
			return err
		}
		if err := placeSkeleton(dir, man, base, string(old), prefix); err != nil {
			return mode.Errorf(mode.ErrInternal, "venv %s: %v", prefix, err)
		}
		return nil
	})
}

// placeSkeleton copies the template under dir/base to prefix, replacing
// the template's prefix old in file contents and symlink targets.
func placeSkeleton(dir string, man treecache.Manifest, base, old, prefix string) error {
	repl := strings.NewReplacer(old, prefix)
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return err
	}
	for _, it := range man.Items {
		rel, ok := strings.CutPrefix(it.Path, base+"/")
		if !ok {
			continue
		}
		dst := filepath.Join(prefix, filepath.FromSlash(rel))
		src := filepath.Join(dir, filepath.FromSlash(it.Path))
		switch {
		case it.Mode.IsDir():
			if err := os.Mkdir(dst, it.Mode.Perm()|0o700); err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
		case it.Mode.Type() == os.ModeSymlink:
			if err := os.Symlink(repl.Replace(it.Target), dst); err != nil {
				return err
			}
		case it.Mode.IsRegular():
			b, err := os.ReadFile(src)
			if err != nil {
				return err
			}
			if err := os.WriteFile(dst, []byte(repl.Replace(string(b))), it.Mode.Perm()|0o200); err != nil {
				return err
			}
		}
	}
	return nil
}

// cacheDir is the folder named sub of the mode's caches: under
// Env.CacheDir (the host's, under its storage root) or the user's cache
// folder.
func cacheDir(env mode.Env, sub string) (string, error) {
	base := env.CacheDir
	if base == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache folder (the host passes none and %v)", err)
		}
		base = filepath.Join(d, "swcli")
	}
	return filepath.Join(base, sub), nil
}

// probes is the interpreter probe cache the mode's calls share.
func probes(env mode.Env) *pyenv.ProbeCache {
	dir, err := cacheDir(env, "python")
	if err != nil {
		return nil
	}
	return &pyenv.ProbeCache{Dir: dir}
}
