package workflow

// Unit tests of restoreInto with an in-process fake mode: states, refusals
// before any write, cleanup after a failure, the lock against concurrent
// restores, hostile layers. Helpers here are prefixed with rs.

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/registry"
)

// rsFakeMode is a venv-like mode that records its calls.
type rsFakeMode struct {
	caps        mode.Capabilities
	abi         string
	lock        []mode.LockedPackage
	createErr   error
	relocateErr error
	// createGate, if set, runs at the start of Create (a test holds the
	// create there until what it wants to overlap is in place).
	createGate func()
	onRelocate func() error

	mu        sync.Mutex
	creates   []mode.CreateRequest
	restores  int
	locks     int // Lock calls: each would start the environment's Python
	relocates []mode.RelocateRequest
}

func (f *rsFakeMode) Info(context.Context) (mode.Info, error) {
	return mode.Info{Name: "venv", Kind: "mode", Capabilities: f.caps}, nil
}
func (f *rsFakeMode) Doctor(context.Context, mode.DoctorRequest) (mode.DoctorReport, error) {
	return mode.DoctorReport{}, nil
}
func (f *rsFakeMode) Create(ctx context.Context, req mode.CreateRequest, _ mode.Events) error {
	f.mu.Lock()
	f.creates = append(f.creates, req)
	f.mu.Unlock()
	if f.createGate != nil {
		f.createGate()
	}
	if f.createErr != nil {
		return f.createErr
	}
	if err := os.MkdirAll(filepath.Join(req.Env.Prefix, "bin"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(req.Env.Prefix, "pyvenv.cfg"), []byte("home = /x\n"), 0o644)
}
func (f *rsFakeMode) Install(context.Context, mode.InstallRequest, mode.Events) error { return nil }
func (f *rsFakeMode) Lock(context.Context, mode.LockRequest, mode.Events) (mode.Lock, error) {
	f.mu.Lock()
	f.locks++
	f.mu.Unlock()
	return mode.Lock{Packages: f.lock}, nil
}
func (f *rsFakeMode) Restore(ctx context.Context, req mode.RestoreRequest, ev mode.Events) error {
	f.mu.Lock()
	f.restores++
	f.mu.Unlock()
	return f.Create(ctx, mode.CreateRequest{Env: req.Env}, ev)
}
func (f *rsFakeMode) Files(context.Context, mode.FilesRequest) (mode.FilesReport, error) {
	return mode.FilesReport{Python: "3.11.7", Platform: "linux-x86_64", ABI: f.abi}, nil
}
func (f *rsFakeMode) Relocate(_ context.Context, req mode.RelocateRequest, _ mode.Events) error {
	f.mu.Lock()
	f.relocates = append(f.relocates, req)
	f.mu.Unlock()
	if f.onRelocate != nil {
		return f.onRelocate()
	}
	return f.relocateErr
}
func (f *rsFakeMode) Activation(_ context.Context, req mode.ActivationRequest) (mode.Activation, error) {
	return mode.Activation{Vars: []mode.EnvVar{{Name: "VIRTUAL_ENV", Value: req.Env.Prefix}}}, nil
}

type rsModes struct{ m mode.Mode }

func (r rsModes) Mode(_ context.Context, name string) (mode.Mode, error) {
	if name != "venv" {
		return nil, fmt.Errorf("no mode %s", name)
	}
	return r.m, nil
}

// rsLayerBlob packs a tar of entries as a zstd layer.
type rsTarEntry struct {
	name, link, body string
	typ              byte
}

func rsLayerBlob(t *testing.T, role, pkg string, entries ...rsTarEntry) (ocispec.Descriptor, []byte) {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644}
		switch e.typ {
		case tar.TypeReg:
			h.Size = int64(len(e.body))
		case tar.TypeDir:
			h.Mode = 0o755
		}
		require.NoError(t, tw.WriteHeader(h))
		if e.typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	var zb bytes.Buffer
	zw, err := zstd.NewWriter(&zb)
	require.NoError(t, err)
	_, err = zw.Write(tb.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	info := bundle.LayerInfo{Digest: digest.FromBytes(zb.Bytes()), Size: int64(zb.Len()), UncompressedSize: int64(tb.Len())}
	return bundle.LayerDescriptor(info, role, pkg), zb.Bytes()
}

// rsFixture is a bundle source in memory and a service with the fake mode.
type rsFixture struct {
	svc    *Service
	mode   *rsFakeMode
	rm     *Manifest
	layers []ocispec.Descriptor
	blobs  map[digest.Digest][]byte
	opened atomic.Int32
}

func rsNewFixture(t *testing.T) *rsFixture {
	t.Helper()
	lock := []mode.LockedPackage{{Name: "rs-pkg", Version: "1.0"}}
	f := &rsFixture{
		mode: &rsFakeMode{caps: mode.Capabilities{Relocate: true}, lock: lock, abi: "cp311"},
		rm: &Manifest{Schema: ManifestSchema, Name: "rs-unit", Mode: "venv", Python: "3.11.7", PythonVersion: "3.11",
			OS: runtime.GOOS, Arch: runtime.GOARCH, ABI: "cp311", SpecFile: "runtime.yaml", Lock: lock,
			Relocation: &Relocation{TextFiles: []string{"bin/rs-tool"}}},
		blobs: map[digest.Digest][]byte{},
	}
	f.svc = &Service{Modes: rsModes{f.mode}, StorageRoot: t.TempDir()}
	f.add(rsLayerBlob(t, bundle.RoleSnapshot, "",
		rsTarEntry{name: "runtime.yaml", typ: tar.TypeReg, body: "name: rs-unit\nmode: venv\npython_version: \"3.11\"\n"},
		rsTarEntry{name: "wheels/", typ: tar.TypeDir},
		rsTarEntry{name: "wheels/rs_pkg-1.0-py3-none-any.whl", typ: tar.TypeReg, body: "wheel"}))
	f.add(rsLayerBlob(t, bundle.RoleBase, "",
		rsTarEntry{name: "bin/", typ: tar.TypeDir},
		rsTarEntry{name: "bin/rs-tool", typ: tar.TypeReg, body: "#!" + mode.PrefixPlaceholder + "/bin/python\n"}))
	f.add(rsLayerBlob(t, bundle.RolePackage, "rs-pkg==1.0",
		rsTarEntry{name: "lib/", typ: tar.TypeDir},
		rsTarEntry{name: "lib/rs_pkg.py", typ: tar.TypeReg, body: "x = 1\n"}))
	return f
}

func (f *rsFixture) add(d ocispec.Descriptor, b []byte) {
	f.layers = append(f.layers, d)
	f.blobs[d.Digest] = b
}

func (f *rsFixture) source() *source {
	d := digest.FromString(fmt.Sprint(f.rm.Name, len(f.layers)))
	b := &Bundle{Version: registry.Version{Name: f.rm.Name, Digest: d, Short: d.Encoded()[:12]},
		OCI: &ocispec.Manifest{Layers: f.layers}, Manifest: f.rm}
	return &source{b: b, cleanup: func() {}, open: func(_ context.Context, d digest.Digest) (io.ReadCloser, error) {
		f.opened.Add(1)
		b, ok := f.blobs[d]
		if !ok {
			return nil, fmt.Errorf("no blob %s", d)
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}}
}

func (f *rsFixture) restore(dir string, force, fromLock bool) (*RestoreResult, error) {
	return f.svc.restoreInto(context.Background(), f.source(), dir, force, fromLock)
}

func rsTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && p != dir {
			r, _ := filepath.Rel(dir, p)
			out = append(out, r)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func TestRestoreFastPathUnit(t *testing.T) {
	f := rsNewFixture(t)
	dir := filepath.Join(t.TempDir(), "target")
	res, err := f.restore(dir, false, false)
	require.NoError(t, err)
	assert.Equal(t, "layers", res.Path)
	require.Len(t, f.mode.creates, 1)
	assert.True(t, f.mode.creates[0].Bare, "the fast path makes a bare environment: the layers bring pip")
	require.Len(t, f.mode.relocates, 1)
	assert.Equal(t, []string{"bin/rs-tool"}, f.mode.relocates[0].TextFiles)
	assert.Equal(t, filepath.Join(dir, ".starwhale", "venv"), f.mode.relocates[0].Env.Prefix)
	assert.FileExists(t, filepath.Join(dir, "runtime.yaml"))
	assert.FileExists(t, filepath.Join(dir, ".starwhale", "venv", "lib", "rs_pkg.py"))
	st, err := ReadState(StatePathOf(dir, "venv"))
	require.NoError(t, err)
	assert.Equal(t, StateReady, st.State)
	assert.Equal(t, string(f.source().b.Version.Digest), st.Version)
	assert.NotEmpty(t, st.Vars)
	_, err = os.Stat(dir + ".lock")
	assert.True(t, os.IsNotExist(err), "no lock file beside a user's target")

	// again: cached, nothing redone
	res, err = f.restore(dir, false, false)
	require.NoError(t, err)
	assert.Equal(t, "cached", res.Path)
	assert.Len(t, f.mode.creates, 1)
	// --force redoes it
	res, err = f.restore(dir, true, false)
	require.NoError(t, err)
	assert.Equal(t, "layers", res.Path)
	assert.Len(t, f.mode.creates, 2)

	// open it as run/activate do
	tg, err := f.svc.openRestored(dir, st.Version)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, ".starwhale", "venv"), tg.Prefix)
	_, err = f.svc.openRestored(dir, "sha256:other")
	assert.Error(t, err, "a restore of another version is not this one")
}

func TestRestoreLockPathUnit(t *testing.T) {
	f := rsNewFixture(t)
	dir := filepath.Join(t.TempDir(), "target")
	res, err := f.restore(dir, false, true)
	require.NoError(t, err)
	assert.Equal(t, "lock", res.Path)
	assert.Equal(t, 1, f.mode.restores)
	assert.Empty(t, f.mode.relocates)
	assert.Equal(t, []string{filepath.Join(dir, "wheels")}, wheelFolders(dir))

	// a lock-only bundle takes the lock path even on another arch
	f = rsNewFixture(t)
	f.rm.LockOnly, f.rm.Arch = true, "arm64"
	res, err = f.restore(filepath.Join(t.TempDir(), "t"), false, false)
	require.NoError(t, err)
	assert.Equal(t, "lock", res.Path)
}

func TestRestoreRefusedBeforeWriting(t *testing.T) {
	cases := map[string]func(f *rsFixture){
		"arch":     func(f *rsFixture) { f.rm.Arch = "arm64" },
		"os":       func(f *rsFixture) { f.rm.OS = "windows" },
		"name":     func(f *rsFixture) { f.rm.Name = "../evil" },
		"mode":     func(f *rsFixture) { f.rm.Mode = "../venv" },
		"specfile": func(f *rsFixture) { f.rm.SpecFile = "../../runtime.yaml" },
		"no-relocate": func(f *rsFixture) {
			f.mode.caps = mode.Capabilities{}
		},
		"two-snapshots": func(f *rsFixture) {
			for _, l := range f.layers {
				if l.Annotations[bundle.AnnotationRole] == bundle.RoleSnapshot {
					f.layers = append(f.layers, l)
					break
				}
			}
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			f := rsNewFixture(t)
			edit(f)
			parent := t.TempDir()
			_, err := f.restore(filepath.Join(parent, "target"), false, false)
			require.Error(t, err)
			assert.Empty(t, rsTree(t, parent), "nothing written")
			assert.Empty(t, rsTree(t, f.svc.StorageRoot), "nothing written in the storage")
			assert.Empty(t, f.mode.creates)
		})
	}
	f := rsNewFixture(t)
	f.rm.Arch = "arm64"
	_, err := f.restore(filepath.Join(t.TempDir(), "target"), false, false)
	var pe *PlatformError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, err.Error(), "/arm64")
	assert.Contains(t, err.Error(), runtime.GOOS+"/"+runtime.GOARCH)
	assert.Contains(t, err.Error(), "--from-lock")
}

func TestRestoreFailureLeavesNothing(t *testing.T) {
	cases := map[string]func(t *testing.T, f *rsFixture){
		"create": func(t *testing.T, f *rsFixture) {
			f.mode.createErr = &mode.Error{Code: mode.ErrNoTool, Message: "no Python 3.11 found; found: 3.9 (/usr/bin/python3.9); install Python 3.11 or pass --python /path/to/python"}
		},
		"relocate": func(t *testing.T, f *rsFixture) { f.mode.relocateErr = errors.New("relocate failed") },
		"abi":      func(t *testing.T, f *rsFixture) { f.mode.abi = "cp311t" },
		"lock-mismatch": func(t *testing.T, f *rsFixture) {
			f.mode.lock = []mode.LockedPackage{{Name: "rs-pkg", Version: "2.0"}, {Name: "extra", Version: "1"}}
		},
		"hostile-layer": func(t *testing.T, f *rsFixture) {
			f.add(rsLayerBlob(t, bundle.RolePackage, "evil==1",
				rsTarEntry{name: "lib/", typ: tar.TypeDir},
				rsTarEntry{name: "lib/up", typ: tar.TypeSymlink, link: "../../../.."},
				rsTarEntry{name: "lib/up/pwned", typ: tar.TypeReg, body: "x"}))
		},
		"corrupt-layer": func(t *testing.T, f *rsFixture) {
			d := f.layers[len(f.layers)-1].Digest
			b := append([]byte(nil), f.blobs[d]...)
			b[len(b)/2] ^= 0xff
			f.blobs[d] = b
		},
		"missing-blob": func(t *testing.T, f *rsFixture) {
			delete(f.blobs, f.layers[len(f.layers)-1].Digest)
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			f := rsNewFixture(t)
			edit(t, f)
			parent := t.TempDir()
			dir := filepath.Join(parent, "a", "target")
			_, err := f.restore(dir, false, false)
			require.Error(t, err)
			t.Log(err)
			_, serr := os.Stat(dir)
			assert.True(t, os.IsNotExist(serr), "a failed restore removes what it made")
			for _, p := range rsTree(t, parent) {
				assert.NotContains(t, p, "pwned")
			}
			if name == "create" {
				assert.Contains(t, err.Error(), "needs Python 3.11")
				assert.Contains(t, err.Error(), "found: 3.9")
				assert.Contains(t, err.Error(), "install Python 3.11")
				assert.NotContains(t, err.Error(), "--python", "restore has no --python flag")
			}
			if name == "abi" {
				var pe *PlatformError
				require.ErrorAs(t, err, &pe)
				assert.Contains(t, err.Error(), "cp311t")
				assert.Contains(t, err.Error(), "--from-lock")
			}
			if name == "lock-mismatch" {
				assert.Contains(t, err.Error(), "rs-pkg is 2.0, lock says 1.0")
				assert.Contains(t, err.Error(), "extra 1 not in the lock")
			}
		})
	}
}

func TestRestoreRedoesHalfMade(t *testing.T) {
	f := rsNewFixture(t)
	dir := filepath.Join(t.TempDir(), "target")
	// what a killed restore leaves: state "restoring" and part of the env
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".starwhale", "venv", "lib"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".starwhale", "venv", "lib", "half.py"), nil, 0o644))
	require.NoError(t, WriteState(StatePathOf(dir, "venv"), &State{State: StateRestoring, Mode: "venv", Name: "rs-unit"}))
	_, err := f.svc.openRestored(dir, string(f.source().b.Version.Digest))
	var nr *NotReadyError
	require.ErrorAs(t, err, &nr, "a half-made restore is never taken as done")
	res, err := f.restore(dir, false, false)
	require.NoError(t, err)
	assert.Equal(t, "layers", res.Path)
	assert.NoFileExists(t, filepath.Join(dir, ".starwhale", "venv", "lib", "half.py"))
	st, _ := ReadState(StatePathOf(dir, "venv"))
	assert.Equal(t, StateReady, st.State)

	// a corrupt state file is ours too, and redone
	require.NoError(t, os.WriteFile(StatePathOf(dir, "venv"), []byte("{garbage"), 0o644))
	res, err = f.restore(dir, false, false)
	require.NoError(t, err)
	assert.Equal(t, "layers", res.Path)

	// a foreign folder is not ours: refused and untouched without --force
	foreign := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "keep.txt"), []byte("x"), 0o644))
	_, err = f.restore(foreign, false, false)
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, []string{"keep.txt"}, rsTree(t, foreign))
	// another version's ready restore needs --force too
	g := rsNewFixture(t)
	g.add(rsLayerBlob(t, bundle.RolePackage, "more==1", rsTarEntry{name: "more.txt", typ: tar.TypeReg, body: "m"}))
	_, err = g.restore(dir, false, false)
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "--force")
}

func TestRestoreConcurrentOnce(t *testing.T) {
	f := rsNewFixture(t)
	dir := f.svc.cacheDirOf(f.source().b.Version.Digest)
	const n = 6
	// The first restore creates only once the n-1 others wait on its lock.
	waiting := make(chan struct{}, n)
	lockEvents = func(path, ev string) {
		if path == dir+".lock" && ev == "waiting" {
			waiting <- struct{}{}
		}
	}
	t.Cleanup(func() { lockEvents = nil })
	f.mode.createGate = func() {
		for range n - 1 {
			<-waiting
		}
	}
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.restore(dir, false, false)
			errs[i] = err
			if err == nil {
				paths[i] = res.Path
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	sort.Strings(paths)
	assert.Equal(t, []string{"cached", "cached", "cached", "cached", "cached", "layers"}, paths)
	assert.Len(t, f.mode.creates, 1)
	// the cache's lock lives beside its folder (gc takes it)
	assert.FileExists(t, dir+".lock")
}

func TestRestoreLockPlacement(t *testing.T) {
	s := &Service{StorageRoot: t.TempDir()}
	ctx := context.Background()
	user := filepath.Join(t.TempDir(), "mine")
	unlock, err := s.lockRestore(ctx, user)
	require.NoError(t, err)
	unlock()
	_, err = os.Stat(user + ".lock")
	assert.True(t, os.IsNotExist(err))
	ents, err := os.ReadDir(filepath.Join(s.StorageRoot, "locks"))
	require.NoError(t, err)
	assert.Len(t, ents, 1)

	// the same target gives the same lock: a second locker waits
	unlock, err = s.lockRestore(ctx, user)
	require.NoError(t, err)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = s.lockRestore(cctx, user)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	unlock()
}

func TestLockDiff(t *testing.T) {
	want := []mode.LockedPackage{{Name: "Foo_Bar", Version: "1.0"}, {Name: "pip", Version: "23.2.1"}}
	assert.Empty(t, lockDiff(want, []mode.LockedPackage{{Name: "foo-bar", Version: "1.0"}, {Name: "pip", Version: "23.2.1"}}))
	assert.Equal(t, "foo-bar 1.0 missing; x 2 not in the lock",
		lockDiff(want, []mode.LockedPackage{{Name: "pip", Version: "23.2.1"}, {Name: "x", Version: "2"}}))
	assert.Equal(t, "pip is 24.0, lock says 23.2.1",
		lockDiff(want, []mode.LockedPackage{{Name: "foo.bar", Version: "1.0"}, {Name: "pip", Version: "24.0"}}))
}

// TestLockDirRemovedWhileWaiting: gc removes a cache's lock file with the
// cache; a restore that was waiting on the removed file must not take it as
// its lock while another process holds the new one.
func TestLockDirRemovedWhileWaiting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "envs", "abc")
	ctx := context.Background()
	events := make(chan string, 16)
	lockEvents = func(path, ev string) {
		if path == dir+".lock" {
			events <- ev
		}
	}
	t.Cleanup(func() { lockEvents = nil })
	unlockA, err := lockDir(ctx, dir)
	require.NoError(t, err)
	got := make(chan func(), 1)
	go func() {
		u, err := lockDir(ctx, dir)
		if err == nil {
			got <- u
		}
	}()
	require.Equal(t, "waiting", <-events, "B waits on the old file")
	require.NoError(t, os.Remove(dir+".lock"))
	unlockC, err := lockDir(ctx, dir) // C on a new file
	require.NoError(t, err)
	unlockA()
	// B gets the old file's lock, sees it was removed, and waits on C's.
	require.Equal(t, "stale", <-events)
	require.Equal(t, "waiting", <-events)
	select {
	case <-got:
		t.Fatal("B took a lock on a removed file while C holds the lock")
	default:
	}
	unlockC()
	(<-got)()
}

func TestRestoreForceRefusesDangerousTargets(t *testing.T) {
	f := rsNewFixture(t)
	// the storage root's parent, with a file in it
	parent := filepath.Dir(f.svc.StorageRoot)
	_, err := f.restore(parent, true, false)
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "storage root")
	assert.DirExists(t, f.svc.StorageRoot)

	wd, err := os.Getwd()
	require.NoError(t, err)
	_, err = f.restore(filepath.Dir(wd), true, false)
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "current folder")
	assert.DirExists(t, wd)
}

// TestRestoreInterruptedLeavesRestoring: an interrupted restore (ctx done,
// as on Ctrl-C) keeps its state "restoring" (the plugin's tools may still be
// writing as they die), is not taken as ready, and the next restore redoes it.
func TestRestoreInterruptedLeavesRestoring(t *testing.T) {
	f := rsNewFixture(t)
	dir := filepath.Join(t.TempDir(), "target")
	ctx, cancel := context.WithCancel(context.Background())
	f.mode.onRelocate = func() error { cancel(); return ctx.Err() }
	_, err := f.svc.restoreInto(ctx, f.source(), dir, false, false)
	require.ErrorIs(t, err, context.Canceled)
	st, err := ReadState(StatePathOf(dir, "venv"))
	require.NoError(t, err)
	require.NotNil(t, st)
	assert.Equal(t, StateRestoring, st.State)
	_, err = f.svc.openRestored(dir, st.Version)
	var nr *NotReadyError
	require.ErrorAs(t, err, &nr)

	f.mode.onRelocate = nil
	res, err := f.restore(dir, false, false)
	require.NoError(t, err)
	assert.Equal(t, "layers", res.Path)
	st, _ = ReadState(StatePathOf(dir, "venv"))
	assert.Equal(t, StateReady, st.State)
}
