package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/layercache"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/core/uri"
)

// RestoreOptions are the inputs of `runtime restore`.
type RestoreOptions struct {
	// Source is a runtime URI of the local instance or a .swrt file.
	Source string
	// TargetDir is where the restored workdir goes; empty means the cache
	// under the storage root (one folder per version).
	TargetDir string
	Force     bool
	// FromLock installs the lock instead of unpacking env layers.
	FromLock bool
}

// RestoreResult says what restore made.
type RestoreResult struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Digest  string `json:"digest"`
	Workdir string `json:"workdir"`
	Prefix  string `json:"prefix"`
	// Path is "layers" (unpacked and relocated), "lock" (installed from the
	// lock), "spec" (made from the spec as written: a bundle built with
	// -del, see disablelock.go) or "cached" (already restored).
	Path string `json:"path"`
}

// source gives the blobs of a bundle: from the local store or a .swrt file.
type source struct {
	b       *Bundle
	project string
	open    func(ctx context.Context, d digest.Digest) (io.ReadCloser, error)
	cleanup func()
}

// openSource pulls src first when it names a cloud version (pullRemote;
// the source's cleanup waits for the pull's unpacks) and opens it.
func (s *Service) openSource(ctx context.Context, src string, warm bool) (*source, error) {
	src, pulled, err := s.pullRemote(ctx, src, warm)
	if err != nil {
		return nil, err
	}
	so, err := s.openLocalSource(ctx, src)
	if err != nil {
		pulled()
		return nil, err
	}
	cleanup := so.cleanup
	so.cleanup = func() { cleanup(); pulled() }
	return so, nil
}

// openLocalSource opens a .swrt file or a version of the local store.
func (s *Service) openLocalSource(ctx context.Context, src string) (*source, error) {
	if uri.IsFile(src) {
		_, tmpDir, err := s.Local()
		if err != nil {
			return nil, err
		}
		f, err := os.Open(src)
		if err != nil {
			return nil, usagef("cannot open bundle %s: %v", src, errors.Unwrap(err))
		}
		defer f.Close()
		tmp, err := os.MkdirTemp(tmpDir, "restore-")
		if err != nil {
			return nil, err
		}
		lay, err := bundle.ReadSWRT(ctx, f, tmp, bundle.DefaultLimits)
		if err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		m, err := bundle.ParseManifest(lay.Manifest)
		if err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		if m.ArtifactType != bundle.ArtifactType {
			os.RemoveAll(tmp)
			return nil, usagef("%s holds a %s (artifact type %s), not a runtime", src, strings.TrimSuffix(strings.TrimPrefix(m.ArtifactType, "application/vnd.starwhale."), ".v1"), m.ArtifactType)
		}
		rm, err := ParseManifest(lay.Config)
		if err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		v := registry.Version{Name: rm.Name, Digest: lay.ManifestDigest, Short: lay.ManifestDigest.Encoded()[:12]}
		return &source{b: &Bundle{Version: v, OCI: m, Raw: lay.Manifest, Manifest: rm},
			open: func(_ context.Context, d digest.Digest) (io.ReadCloser, error) {
				p, ok := lay.Blobs[d]
				if !ok {
					return nil, fmt.Errorf("bundle has no blob %s", d)
				}
				return os.Open(p)
			},
			cleanup: func() { os.RemoveAll(tmp) }}, nil
	}
	ref, err := ParseRef(src)
	if err != nil {
		return nil, err
	}
	l, v, err := s.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	b, err := LoadBundle(ctx, l, v)
	if err != nil {
		return nil, err
	}
	return &source{b: b, project: ref.Project, cleanup: func() {},
		open: func(ctx context.Context, d digest.Digest) (io.ReadCloser, error) { return l.Get(ctx, d, 0) }}, nil
}

func (src *source) extract(ctx context.Context, d ocispec.Descriptor, dest string) error {
	rc, err := src.open(ctx, d.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = bundle.ExtractLayer(ctx, rc, dest, extractOptions(d))
	return err
}

// cacheDirOf is the cache folder of a version. It is short on purpose: a
// conda environment restored there must fit in the packed prefix.
func (s *Service) cacheDirOf(d digest.Digest) string {
	return filepath.Join(s.CacheDir(), d.Encoded()[:16])
}

// Restore makes a ready environment from a stored version or a .swrt file.
//
// What the manifest alone can refuse (bad name, mode or spec file, another
// os/arch on the fast path, a mode that cannot relocate) is refused before
// anything is written. The target is locked (flock) for the whole restore,
// so concurrent restores of one version make it once. A state file records
// "restoring" until the environment is verified against the lock, then
// "ready"; a restore that fails removes what it made, and one interrupted
// or killed leaves "restoring", which is never taken as done and is redone
// by the next restore (or run, for the cache).
func (s *Service) Restore(ctx context.Context, o RestoreOptions) (*RestoreResult, error) {
	src, err := s.openSource(ctx, o.Source, true)
	if err != nil {
		return nil, err
	}
	defer src.cleanup()
	dir := o.TargetDir
	if dir == "" {
		dir = s.cacheDirOf(src.b.Version.Digest)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	return s.restoreInto(ctx, src, dir, o.Force, o.FromLock)
}

// OpenVersion returns the ready environment of a version or a .swrt file,
// restoring it into the cache first when needed (once: concurrent callers
// wait for the first).
func (s *Service) OpenVersion(ctx context.Context, source string) (*Target, error) {
	source, pulled, err := s.pullRemote(ctx, source, true)
	if err != nil {
		return nil, err
	}
	defer pulled()
	if !uri.IsFile(source) {
		// Warm path: no manifest read when the cache is ready.
		ref, err := ParseRef(source)
		if err != nil {
			return nil, err
		}
		_, v, err := s.Resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		if t, err := s.openRestored(s.cacheDirOf(v.Digest), string(v.Digest)); err == nil {
			return t, nil
		}
	}
	res, err := s.Restore(ctx, RestoreOptions{Source: source})
	if err != nil {
		return nil, err
	}
	return s.openRestored(res.Workdir, res.Digest)
}

// openRestored opens a restored workdir whose state is ready for version d.
func (s *Service) openRestored(dir, d string) (*Target, error) {
	st, m, err := restoredState(dir)
	if err != nil {
		return nil, err
	}
	if st == nil || st.State != StateReady || st.Version != d {
		return nil, &NotReadyError{Workdir: dir, Mode: m}
	}
	return &Target{Name: st.Name, Mode: st.Mode, Workdir: dir, Prefix: st.Prefix, State: st,
		Env: mode.Env{Workdir: dir, Prefix: st.Prefix, Python: mode.Python{Version: st.Python}}}, nil
}

// restoredState finds the one state file of a restored workdir.
func restoredState(dir string) (*State, string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, DotDir, "state"))
	if err != nil {
		return nil, "", err
	}
	for _, e := range ents {
		if m, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			st, err := ReadState(filepath.Join(dir, DotDir, "state", e.Name()))
			return st, m, err
		}
	}
	return nil, "", errors.New("no state")
}

// lockDir takes an exclusive lock on dir+".lock" (flock), waiting for it
// until ctx is done. It polls with LOCK_NB rather than blocking in flock on
// another goroutine, which could not be stopped when ctx ends. A lock file
// that was removed (gc removes a cache's lock with it) while we waited is
// not a lock any more: then it starts again on the new file.
func lockDir(ctx context.Context, dir string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	path := dir + ".lock"
	wait := 5 * time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		fd := int(f.Fd())
		for tries := 0; ; tries++ {
			err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
			if err == nil || (!errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR)) {
				break
			}
			if tries == 0 && lockEvents != nil {
				lockEvents(path, "waiting")
			}
			select {
			case <-ctx.Done():
				f.Close()
				return nil, ctx.Err()
			case <-time.After(wait):
			}
			if wait < 100*time.Millisecond {
				wait *= 2
			}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return func() { _ = syscall.Flock(fd, syscall.LOCK_UN); f.Close() }, nil
		}
		f.Close() // removed or replaced while we waited
		if lockEvents != nil {
			lockEvents(path, "stale")
		}
	}
}

// lockEvents, when set (by tests), hears each step of lockDir that another
// process's timing decides: "waiting" when a lock file is found held,
// "stale" when the file it got was removed while it waited.
var lockEvents func(path, event string)

// PlatformError says a bundle's env layers cannot run here.
type PlatformError struct {
	Name, Need, Have string
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("%s was built for %s, this machine is %s: its environment layers cannot run here; restore with --from-lock to install its lock for this machine (needs its wheels or an index)", e.Name, e.Need, e.Have)
}

func (s *Service) restoreInto(ctx context.Context, src *source, dir string, force, fromLock bool) (res *RestoreResult, err error) {
	b, rm := src.b, src.b.Manifest
	clock := newPhases()
	// Everything that can be refused from the manifest alone is refused
	// before anything is written.
	if err := spec.ValidateName(rm.Name); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if rm.Mode != spec.ModeVenv && rm.Mode != spec.ModeConda {
		// Third-party modes are fine too, as long as a plugin serves them.
		if rm.Mode == "" || strings.ContainsAny(rm.Mode, `/\. `) {
			return nil, fmt.Errorf("bundle: bad mode %q", rm.Mode)
		}
	}
	snaps := b.Layers(bundle.RoleSnapshot)
	if len(snaps) != 1 {
		return nil, fmt.Errorf("bundle %s has %d snapshot layers, want 1", b.Version.Short, len(snaps))
	}
	if rm.SpecFile == "" || !filepath.IsLocal(filepath.FromSlash(rm.SpecFile)) {
		return nil, fmt.Errorf("bundle: bad spec_file %q in its runtime manifest", rm.SpecFile)
	}
	here := runtime.GOOS + "/" + runtime.GOARCH
	built := rm.OS + "/" + rm.Arch
	fast := !rm.LockOnly && !fromLock
	if fast && built != here {
		return nil, &PlatformError{Name: rm.Name, Need: built, Have: here}
	}
	m, err := s.Modes.Mode(ctx, rm.Mode)
	if err != nil {
		return nil, err
	}
	info, err := m.Info(ctx)
	if err != nil {
		return nil, err
	}
	if fast && !info.Capabilities.Relocate {
		return nil, usagef("the %s mode plugin cannot relocate environments; restore %s with --from-lock", rm.Mode, rm.Name)
	}
	clock.done("plugin")

	unlock, err := s.lockRestore(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	prefix := PrefixOf(dir, rm.Mode)
	statePath := StatePathOf(dir, rm.Mode)
	res = &RestoreResult{Name: rm.Name, Version: b.Version.Short, Digest: string(b.Version.Digest), Workdir: dir, Prefix: prefix}
	st, _ := ReadState(statePath)
	if st != nil && st.State == StateReady && st.Version == string(b.Version.Digest) && !force {
		res.Path = "cached"
		return res, nil
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		// Ours and half-made (or another version): redo. Anything else needs force.
		if st == nil && !force {
			return nil, usagef("%s exists and is not empty; pass --force to replace it, or choose another --target-dir", dir)
		}
		if st != nil && st.State == StateReady && !force {
			return nil, usagef("%s holds a restored %s (version %.12s); pass --force to replace it", dir, st.Name, strings.TrimPrefix(st.Version, "sha256:"))
		}
		if st == nil {
			if why := s.unsafeToReplace(dir); why != "" {
				return nil, usagef("will not replace %s, even with --force: %s; choose another --target-dir", dir, why)
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	} else if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// A restore that fails leaves nothing behind. One that is interrupted
	// (ctx done: the plugin's tools may still be writing as they die) or
	// killed outright leaves state "restoring", which the next restore redoes.
	defer func() {
		if err != nil && ctx.Err() == nil {
			_ = os.RemoveAll(dir)
		}
	}()
	st = &State{State: StateRestoring, Mode: rm.Mode, Name: rm.Name, Python: rm.PythonVersion, Prefix: prefix, Version: string(b.Version.Digest)}
	if err := WriteState(statePath, st); err != nil {
		return nil, err
	}

	// The snapshot: runtime.yaml, requirement files, locks, wheels, files.
	clock.done("prepare")
	s.stage("extract snapshot", 0, 0)
	if err := src.extract(ctx, snaps[0], dir); err != nil {
		return nil, err
	}
	clock.done("snapshot")
	sp, err := spec.Load(filepath.Join(dir, filepath.FromSlash(rm.SpecFile)))
	if err != nil {
		return nil, fmt.Errorf("bundle's runtime.yaml: %w", err)
	}
	env := s.withCaches(EnvFor(dir, prefix, sp, mode.Python{Version: rm.PythonVersion}))
	verified := false // the environment is known to hold exactly the lock
	switch {
	case fast:
		res.Path = "layers"
		verified, err = s.unpackEnv(ctx, src, m, info, env, rm, clock)
	case rm.LockDisabled:
		res.Path = RestorePathSpec
		err = s.installSpec(ctx, m, dir, prefix, sp, rm)
	default:
		res.Path = "lock"
		err = s.installLock(ctx, m, env, dir, rm)
	}
	if err != nil {
		var me *mode.Error
		if errors.As(err, &me) && me.Code == mode.ErrNoTool {
			return nil, s.missingToolError(ctx, m, rm, me, fast)
		}
		return nil, err
	}

	if !fast {
		clock.done(res.Path)
	}
	if !verified {
		if err := s.verifyRestored(ctx, m, env, rm, res.Path); err != nil {
			return nil, err
		}
		clock.done("verify")
	}
	if err := s.ready(ctx, envOf(dir, rm.Mode), m, env, rm.Name, st); err != nil {
		return nil, err
	}
	clock.done("ready")
	s.log().Debug("restore timings", clock.kv...)
	return res, nil
}

// phases times the steps of a restore, for one debug line at the end that
// says where the time went besides placing the layers.
type phases struct {
	last time.Time
	kv   []any
}

func newPhases() *phases { return &phases{last: time.Now()} }

// done ends the step name.
func (p *phases) done(name string) {
	now := time.Now()
	p.kv = append(p.kv, name, now.Sub(p.last).Round(10*time.Microsecond).String())
	p.last = now
}

// missingToolError says what a restore needs that this machine lacks. The
// mode's Doctor tells which of its tools is missing: a Python gets
// noPythonError's advice; another tool (conda for a conda lock) the mode's
// own message, and, when the bundle has env layers, that a restore
// without --from-lock needs no such tool. When Doctor names none, it is
// the Python.
func (s *Service) missingToolError(ctx context.Context, m mode.Mode, rm *Manifest, me *mode.Error, fast bool) error {
	rep, err := m.Doctor(ctx, mode.DoctorRequest{Python: mode.Python{Version: rm.PythonVersion}})
	if err != nil {
		return noPythonError(rm, me.Message)
	}
	for _, t := range rep.Tools {
		if t.OK {
			continue
		}
		if strings.HasPrefix(t.Name, "python") {
			return noPythonError(rm, me.Message)
		}
		alt := ""
		if !fast && !rm.LockOnly {
			alt = "; or restore without --from-lock: the bundle's env layers unpack without " + t.Name
		}
		return usagef("%s (%s mode) needs %s to restore from its lock, and this machine has none: %s%s",
			rm.Name, rm.Mode, t.Name, strings.TrimSpace(t.Message), alt)
	}
	// The mode's Doctor names no missing tool: the Python it asked for.
	return noPythonError(rm, me.Message)
}

// noPythonError says which Python a restore needs, what this machine has
// (the mode's message lists it) and what would work.
func noPythonError(rm *Manifest, msg string) error {
	// The mode's own advice may name create's flags (--python); restore has
	// its own.
	msg = strings.TrimSpace(msg)
	if i := strings.LastIndex(msg, "; install "); i >= 0 && strings.Contains(msg[i:], "--python") {
		msg = msg[:i]
	}
	return usagef("%s needs Python %s (%s mode) to restore, and this machine has none: %s; install Python %s (e.g. `pyenv install %s`) and run again",
		rm.Name, rm.PythonVersion, rm.Mode, msg, rm.PythonVersion, rm.PythonVersion)
}

// lockRestore locks a restore target. The cache's folders are locked by a
// file beside them (gc takes the same lock); any other target by a file
// under the storage root, so no lock file is left in the user's folders.
func (s *Service) lockRestore(ctx context.Context, dir string) (func(), error) {
	cache, err := filepath.Abs(s.CacheDir())
	if err != nil {
		return nil, err
	}
	if s.StorageRoot == "" || filepath.Dir(dir) == cache {
		return lockDir(ctx, dir)
	}
	sum := sha256.Sum256([]byte(dir))
	return lockDir(ctx, filepath.Join(s.StorageRoot, "locks", "restore-"+hex.EncodeToString(sum[:16])))
}

// unpackEnv is the fast path: the env layers unpacked and relocated. It
// reports verified when the environment is known, without starting its
// Python, to hold exactly the lock (layersHoldLock).
func (s *Service) unpackEnv(ctx context.Context, src *source, m mode.Mode, info mode.Info, env mode.Env, rm *Manifest, clock *phases) (verified bool, err error) {
	if !info.Capabilities.SelfContained {
		s.stage("create environment", 0, 0)
		if err := m.Create(ctx, mode.CreateRequest{Env: env, Bare: true}, s.Events); err != nil {
			return false, err
		}
		clock.done("create")
	}
	// The layers hold compiled code for the build's ABI (cp311, cp313t
	// ...): this machine's interpreter of the same X.Y must have it too. The
	// mode is asked about the bare environment before anything is placed
	// (cheap: the venv mode answers from its interpreter probe cache), so a
	// mismatch fails before the layers are linked or unpacked.
	bareEmpty := false
	if !info.Capabilities.SelfContained && rm.ABI != "" {
		rep, err := m.Files(ctx, mode.FilesRequest{Env: env})
		if err != nil {
			return false, err
		}
		if rep.ABI != "" && rep.ABI != rm.ABI {
			return false, &PlatformError{Name: rm.Name, Need: rm.OS + "/" + rm.Arch + " " + rm.ABI,
				Have: runtime.GOOS + "/" + runtime.GOARCH + " " + rep.ABI + " (Python " + rep.Python + ")"}
		}
		bareEmpty = len(rep.Packages) == 0
		clock.done("abi")
	}
	layers := append(src.b.Layers(bundle.RoleBase), src.b.Layers(bundle.RolePackage)...)
	dists, known, err := s.extractLayers(ctx, src, layers, env.Prefix, relocatedFiles(rm))
	if err != nil {
		return false, err
	}
	clock.done("layers")
	req := mode.RelocateRequest{Env: env}
	if r := rm.Relocation; r != nil {
		req.TextFiles, req.BinaryFiles, req.OldPrefix = r.TextFiles, r.BinaryFiles, r.OldPrefix
	}
	s.stage("relocate", 0, 0)
	if err := m.Relocate(ctx, req, s.Events); err != nil {
		return false, err
	}
	clock.done("relocate")
	return bareEmpty && known && s.layersHoldLock(dists, rm), nil
}

// layersHoldLock tells whether the distributions the layers hold (read
// from the layer cache's manifests: the dist-info folders right under
// site-packages) are exactly the lock's names and versions, which is what
// verifyRestored would find by asking the environment's Python. Anything
// it cannot tell apart (an escaped name or version, an egg-info, a
// distribution outside site-packages) shows as a difference, and then the
// Python check runs as before.
func (s *Service) layersHoldLock(dists []layercache.Dist, rm *Manifest) bool {
	got := make([]mode.LockedPackage, len(dists))
	for i, d := range dists {
		got[i] = mode.LockedPackage{Name: d.Name, Version: d.Version}
	}
	if len(got) != len(rm.Lock) {
		return false
	}
	if diff := lockDiff(rm.Lock, got); diff != "" {
		s.log().Debug("the layers' distributions differ from the lock; asking the environment's Python", "diff", diff)
		return false
	}
	return true
}

// installLock is the lock path: the environment made and the lock installed,
// from the bundle's wheels first and the configured indexes after.
func (s *Service) installLock(ctx context.Context, m mode.Mode, env mode.Env, dir string, rm *Manifest) error {
	lock := mode.Lock{Python: rm.Python, Packages: rm.Lock}
	for _, name := range rm.LockFiles {
		data, err := os.ReadFile(filepath.Join(dir, DotDir, "lock", name))
		if err != nil {
			return fmt.Errorf("bundle's lock file %s: %w", name, err)
		}
		lock.Files = append(lock.Files, mode.LockFile{Name: name, Content: data})
	}
	wheelDirs := wheelFolders(dir)
	s.stage("install the lock", 0, int64(len(rm.Lock)))
	return m.Restore(ctx, mode.RestoreRequest{Env: env, Lock: lock, WheelDirs: wheelDirs}, s.Events)
}

// wheelFolders lists the folders of a restored snapshot that hold wheels.
func wheelFolders(dir string) []string {
	set := map[string]bool{}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == DotDir {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".whl") {
			set[filepath.Dir(p)] = true
		}
		return nil
	})
	var out []string
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func normName(n string) string {
	n = strings.ToLower(n)
	return strings.NewReplacer("_", "-", ".", "-").Replace(n)
}

// lockDiff describes how got differs from want (names and versions).
func lockDiff(want, got []mode.LockedPackage) string {
	w, g := map[string]string{}, map[string]string{}
	for _, p := range want {
		w[normName(p.Name)] = p.Version
	}
	for _, p := range got {
		g[normName(p.Name)] = p.Version
	}
	var diffs []string
	for n, v := range w {
		switch gv, ok := g[n]; {
		case !ok:
			diffs = append(diffs, n+" "+v+" missing")
		case gv != v:
			diffs = append(diffs, fmt.Sprintf("%s is %s, lock says %s", n, gv, v))
		}
	}
	for n, v := range g {
		if _, ok := w[n]; !ok {
			diffs = append(diffs, n+" "+v+" not in the lock")
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// gcCaches removes restored environments in the cache whose version is no
// longer live in the local store.
func (s *Service) gcCaches(ctx context.Context, l *instance.Local, dryRun bool) (int, error) {
	ents, err := os.ReadDir(s.CacheDir())
	if err != nil {
		if os.IsNotExist(err) {
			return 0, nil
		}
		return 0, err
	}
	projects, err := storeProjects(ctx, l.Store())
	if err != nil {
		return 0, err
	}
	reg := l.Registry()
	live := map[string]bool{}
	for _, p := range projects {
		rts, err := reg.ListRuntimes(ctx, p, false)
		if err != nil {
			continue
		}
		for _, rt := range rts {
			vs, err := reg.ListVersions(ctx, p, rt.Name, false)
			if err != nil {
				continue
			}
			for _, v := range vs {
				live[v.Digest.Encoded()[:16]] = true
			}
		}
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() || live[e.Name()] {
			continue
		}
		dir := filepath.Join(s.CacheDir(), e.Name())
		unlock, err := lockDir(ctx, dir)
		if err != nil {
			continue
		}
		if !dryRun {
			_ = os.RemoveAll(dir)
			_ = os.Remove(dir + ".lock")
		}
		unlock()
		n++
	}
	return n, nil
}

// storeProjects lists the projects of a store (the filesystem store or a
// store plugin alike): the folders under projects/.
func storeProjects(ctx context.Context, st store.Store) ([]string, error) {
	ps, err := store.ChildrenOf(ctx, st, "projects/")
	if err != nil {
		return nil, fmt.Errorf("gc: list the projects: %w", err)
	}
	return ps, nil
}

// OpenTarget opens what a user names in activate and run: a workdir (an
// existing folder), a .swrt file or a runtime URI (restored into the cache
// on first use).
func (s *Service) OpenTarget(ctx context.Context, arg string) (*Target, error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		return s.OpenWorkdir(arg)
	} else if err == nil && !uri.IsFile(arg) {
		return nil, usagef("%s is a file; give a workdir (a folder with runtime.yaml), a runtime URI (NAME[/version/V]) or a .swrt bundle", arg)
	}
	if !uri.IsFile(arg) {
		if _, err := os.Stat(filepath.Join(arg, spec.FileName)); err == nil {
			return s.OpenWorkdir(arg)
		}
	}
	return s.OpenVersion(ctx, arg)
}

// Extract writes a version's snapshot (runtime.yaml, requirement files,
// lock, wheels, files) as plain files into dir.
func (s *Service) Extract(ctx context.Context, source, dir string, force bool) (*RestoreResult, error) {
	src, err := s.openSource(ctx, source, false)
	if err != nil {
		return nil, err
	}
	defer src.cleanup()
	b := src.b
	if dir == "" {
		dir = b.Manifest.Name + "-" + b.Version.Short
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		if !force {
			return nil, usagef("%s exists and is not empty; pass --force to replace it", dir)
		}
		if why := s.unsafeToReplace(dir); why != "" {
			return nil, usagef("will not replace %s, even with --force: %s; choose another --target-dir", dir, why)
		}
	}
	snaps := b.Layers(bundle.RoleSnapshot)
	if len(snaps) != 1 {
		return nil, fmt.Errorf("bundle %s has %d snapshot layers, want 1", b.Version.Short, len(snaps))
	}
	// Extract beside the target, then swap it in: nothing half-written.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := src.extract(ctx, snaps[0], tmp); err != nil {
		return nil, err
	}
	if force {
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	} else {
		_ = os.Remove(dir) // an empty folder
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return &RestoreResult{Name: b.Manifest.Name, Version: b.Version.Short, Digest: string(b.Version.Digest), Workdir: dir, Path: "snapshot"}, nil
}

// unsafeToReplace says why --force must not remove dir (the root, the home
// folder, a folder holding the current folder or the storage root), or "".
func (s *Service) unsafeToReplace(dir string) string {
	dir = filepath.Clean(dir)
	within := func(p string) bool {
		if p == "" {
			return false
		}
		p = filepath.Clean(p)
		return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator)) || dir == string(filepath.Separator)
	}
	if dir == string(filepath.Separator) {
		return "it is the root folder"
	}
	if home, err := os.UserHomeDir(); err == nil && filepath.Clean(home) == dir {
		return "it is the home folder"
	}
	if wd, err := os.Getwd(); err == nil && within(wd) {
		return "it holds the current folder"
	}
	if within(s.StorageRoot) {
		return "it holds the storage root " + s.StorageRoot
	}
	return ""
}
