package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/envpack"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/internal/atomicfile"
)

// memoFormat changes when what buildMemo holds, or how envFingerprint is
// computed, changes.
const memoFormat = "swcli-build-memo-1"

// buildMemo remembers what the mode said about the environment at the last
// build (the checked lock and the files report), with the fingerprint of
// the environment it said it about, in WORKDIR/.starwhale/cache/build.json.
// A rebuild of an environment whose fingerprint did not change reuses them
// instead of running pip check, the lock and the files listing again: they
// depend only on the files of the environment. Like the layer cache it is
// only a hint; any doubt (no file, another key) means asking the mode.
type buildMemo struct {
	Key   string            `json:"key"`
	Lock  mode.Lock         `json:"lock"`
	Files *mode.FilesReport `json:"files,omitempty"`
	// EnvLayers and Relocation are the env layers the last build packed from
	// this very environment: reused as they are when their blobs are still
	// stored (no editable installs: their files live outside the prefix).
	EnvLayers  []ocispec.Descriptor `json:"env_layers,omitempty"`
	Relocation *Relocation          `json:"relocation,omitempty"`
}

func memoPath(wd string) string { return filepath.Join(wd, DotDir, "cache", "build.json") }

// loadBuildMemo returns the memo of the workdir if its key is key.
func loadBuildMemo(wd, key string) *buildMemo {
	data, err := os.ReadFile(memoPath(wd))
	if err != nil {
		return nil
	}
	var m buildMemo
	if json.Unmarshal(data, &m) != nil || m.Key != key {
		return nil
	}
	return &m
}

func saveBuildMemo(wd string, m *buildMemo) {
	if data, err := json.Marshal(m); err == nil {
		_ = atomicfile.Write(memoPath(wd), data, 0o644)
	}
}

// envFingerprint hashes the path, type, size, modification time, mode and
// inode of every file and symlink of the walked prefix, and the path of every
// folder, leaving out __pycache__ folders (Python writes them when it runs;
// they are never packed). Installing, removing or changing anything changes
// it.
func envFingerprint(t *envpack.Tree, modeName string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\n", memoFormat, modeName, t.Prefix)
	// Per entry "REL\0MODE\n" (a folder) or "REL\0MODE\0SIZE\0MTIME\0INO\n",
	// REL with a leading separator, MODE in octal: appended by hand, as fmt
	// costs a tenth of the walk's CPU here.
	var b []byte
	for _, e := range t.Entries {
		if e.Skipped {
			continue
		}
		st := e.Info
		b = b[:0]
		if e.Rel != "" {
			b = append(append(b, filepath.Separator), filepath.FromSlash(e.Rel)...)
		}
		b = strconv.AppendUint(append(b, 0), uint64(st.Mode()), 8)
		if !st.IsDir() {
			// (A folder's entries are listed; its times change when
			// Python writes a __pycache__ in it.)
			var ino uint64
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				ino = sys.Ino
			}
			b = strconv.AppendInt(append(b, 0), st.Size(), 10)
			b = strconv.AppendInt(append(b, 0), st.ModTime().UnixNano(), 10)
			b = strconv.AppendUint(append(b, 0), ino, 10)
		}
		h.Write(append(b, '\n'))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// memoMode is the mode as a build sees it: a caching decorator of Lock and
// Files. When the environment's fingerprint (key) is the one the workdir's
// memo was made for, they are answered from the memo and the mode's plugin
// is not even started; otherwise the mode is asked (Files possibly early,
// while the prefix is walked: prefetchFiles). save writes what this build
// learnt for the next one.
type memoMode struct {
	s     *Service
	get   func() (mode.Mode, error)
	key   string
	memo  *buildMemo
	files chan filesResult
	// reused is set when envLayers gave the memo's layers.
	reused bool
}

type filesResult struct {
	rep mode.FilesReport
	err error
}

// useMemo loads the workdir's memo when it was made for key (and can serve
// this build).
func (m *memoMode) useMemo(wd string, o BuildOptions) {
	if m.key == "" || o.NoCache {
		return
	}
	memo := loadBuildMemo(wd, m.key)
	if memo != nil && memo.Files == nil && !o.LockOnly {
		return
	}
	m.memo = memo
}

func (m *memoMode) Lock(ctx context.Context, req mode.LockRequest, ev mode.Events) (mode.Lock, error) {
	if m.memo != nil {
		return m.memo.Lock, nil
	}
	md, err := m.get()
	if err != nil {
		return mode.Lock{}, err
	}
	m.s.stage("lock", 0, 0)
	return md.Lock(ctx, req, ev)
}

// prefetchFiles asks the mode for the files report now; Files gives it.
func (m *memoMode) prefetchFiles(ctx context.Context, req mode.FilesRequest) {
	m.files = make(chan filesResult, 1)
	go func() {
		rep, err := m.askFiles(ctx, req)
		m.files <- filesResult{rep, err}
	}()
}

// Files gives the files report: the memo's (unless the environment has
// editable installs, whose files live in a source tree the fingerprint does
// not cover), the prefetched one, or the mode's.
func (m *memoMode) Files(ctx context.Context, req mode.FilesRequest) (mode.FilesReport, error) {
	switch {
	case m.files != nil:
		r := <-m.files
		return r.rep, r.err
	case m.memo != nil && m.memo.Files != nil && !hasEditable(m.memo.Lock):
		return *m.memo.Files, nil
	}
	return m.askFiles(ctx, req)
}

func (m *memoMode) askFiles(ctx context.Context, req mode.FilesRequest) (mode.FilesReport, error) {
	md, err := m.get()
	if err != nil {
		return mode.FilesReport{}, err
	}
	return md.Files(ctx, req)
}

// envLayers gives the env layers the last build packed from this very
// environment, when their blobs are all still stored.
func (m *memoMode) envLayers(ctx context.Context, reg *registry.Registry) ([]ocispec.Descriptor, *Relocation, mode.FilesReport, bool) {
	mm := m.memo
	if mm == nil || hasEditable(mm.Lock) || mm.EnvLayers == nil || mm.Files == nil || !blobsStored(ctx, reg, mm.EnvLayers) {
		return nil, nil, mode.FilesReport{}, false
	}
	m.reused = true
	return mm.EnvLayers, mm.Relocation, *mm.Files, true
}

// save writes the memo for the next build, unless this build used one that
// still says it all.
func (m *memoMode) save(wd string, lock mode.Lock, lockOnly bool, rep mode.FilesReport, envDescs []ocispec.Descriptor, rel *Relocation) {
	if m.key == "" || (m.memo != nil && (m.reused || envDescs == nil)) {
		return
	}
	memo := &buildMemo{Key: m.key, Lock: lock}
	if !lockOnly {
		memo.Files = &rep
		if !hasEditable(lock) {
			memo.EnvLayers, memo.Relocation = envDescs, rel
		}
	}
	saveBuildMemo(wd, memo)
}
