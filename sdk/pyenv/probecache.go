package pyenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/internal/treecache"
)

// ProbeCache keeps what Python tells about itself (Probe's answer, and the
// output of any other fact-finding script a mode runs, such as the venv
// mode's list of ensurepip wheels) in a tree cache (internal/treecache)
// under Dir, so that a later create or restore reads a file instead of
// starting Python. An answer is keyed by the interpreter's path and used
// only while the interpreter's ID (path, size, mtime, inode of its
// executable, libpython and os.py) is what it was when the answer was
// made; a stale one is made again. Every entry requires the interpreter's
// executable, so a gc of the tree cache (Prune) drops the answers of
// interpreters that are gone.
//
// The zero Dir (or a nil *ProbeCache) caches nothing: every call runs
// Python. A ProbeCache is safe for concurrent use by several processes.
type ProbeCache struct {
	Dir string
}

const (
	probeFile  = "probe.json"
	outputFile = "output"
)

// probeRecord is what an entry holds.
type probeRecord struct {
	Interpreter Interpreter `json:"interpreter"`
	Output      []byte      `json:"output,omitempty"`
}

var errStale = errors.New("stale probe")

// cached returns the record of key, made by make when there is none or
// the one there is stale (valid says which records still hold).
func (c *ProbeCache) cached(ctx context.Context, key string, valid func(probeRecord) bool, mk func() (probeRecord, []string, error)) (probeRecord, error) {
	tc := &treecache.Cache{Root: c.Dir}
	var rec probeRecord
	fill := func(dir string) error {
		r, requires, err := mk()
		if err != nil {
			return err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, probeFile), b, 0o644); err != nil {
			return err
		}
		return treecache.WriteRequires(dir, requires)
	}
	use := func(dir string, _ treecache.Manifest, filled bool) error {
		b, err := os.ReadFile(filepath.Join(dir, probeFile))
		if err != nil {
			return err
		}
		rec = probeRecord{}
		if err := json.Unmarshal(b, &rec); err != nil || (!filled && !valid(rec)) {
			return errStale
		}
		return nil
	}
	err := tc.Use(ctx, key, fill, use)
	if errors.Is(err, errStale) {
		if err := tc.Remove(ctx, key); err != nil {
			return rec, err
		}
		err = tc.Use(ctx, key, fill, use)
	}
	return rec, err
}

// current tells whether it still describes the interpreter at its paths.
func current(it Interpreter, path string) bool {
	return it.ID != "" && it.ID == fingerprint(append([]string{path, it.Path}, it.Files...))
}

// Probe is Probe(ctx, path), answered from the cache while it holds.
func (c *ProbeCache) Probe(ctx context.Context, path string) (Interpreter, error) {
	if c == nil || c.Dir == "" {
		return Probe(ctx, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Interpreter{}, err
	}
	rec, err := c.cached(ctx, cacheKey("probe", abs, ""),
		func(r probeRecord) bool { return current(r.Interpreter, abs) },
		func() (probeRecord, []string, error) {
			it, err := Probe(ctx, abs)
			if err != nil {
				return probeRecord{}, nil, err
			}
			if it.ID == "" {
				return probeRecord{}, nil, fmt.Errorf("python %s: its files cannot be read", abs)
			}
			return probeRecord{Interpreter: it}, []string{abs}, nil
		})
	if err != nil {
		var ke *treecache.KeyError
		if errors.As(err, &ke) {
			return Probe(ctx, path)
		}
		return Interpreter{}, err
	}
	return rec.Interpreter, nil
}

// Output is the standard output of `it.Path -c script`, run once per
// interpreter build and script. it must come from Probe or Find just now:
// its ID, checked then, says which build it is. A script that fails is not
// cached.
func (c *ProbeCache) Output(ctx context.Context, it Interpreter, script string) ([]byte, error) {
	run := func() ([]byte, error) {
		out, err := pythonCmd(ctx, it.Path, "-c", script).Output()
		if err != nil {
			return nil, fmt.Errorf("python %s -c ...: %w", it.Path, err)
		}
		return out, nil
	}
	if c == nil || c.Dir == "" || it.ID == "" {
		return run()
	}
	rec, err := c.cached(ctx, cacheKey("output", it.Path, script),
		func(r probeRecord) bool { return r.Interpreter.ID == it.ID },
		func() (probeRecord, []string, error) {
			out, err := run()
			return probeRecord{Interpreter: it, Output: out}, []string{it.Path}, err
		})
	return rec.Output, err
}

// cacheKey names the entry of one answer.
func cacheKey(kind, path, script string) string {
	h := sha256.Sum256([]byte(path + "\x00" + script))
	return kind + "-" + hex.EncodeToString(h[:16])
}

// Find is Find(ctx, py) with every candidate probed through the cache.
func (c *ProbeCache) Find(ctx context.Context, py mode.Python) (Interpreter, error) {
	return find(ctx, py, c.Probe)
}
