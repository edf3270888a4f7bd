package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/core/store"
)

// BuildOptions are the inputs of `runtime build`.
type BuildOptions struct {
	Workdir string
	// SpecFile is the runtime.yaml to use (relative to Workdir or absolute).
	SpecFile string
	Project  string
	Tags     []string
	// LockOnly builds a bundle without env layers.
	LockOnly bool
	// NoCache remakes the environment from scratch and repacks every layer.
	NoCache bool
	// IncludeEditable packs editable installs as regular files instead of
	// refusing them.
	IncludeEditable bool
	// Overrides replace the runtime.yaml's name, CUDA, cuDNN and arch
	// (build -n, --cuda, --cudnn, --arch).
	Overrides spec.Overrides
	// DumpPipConfig and DumpCondarc put the user's pip config and condarc,
	// secrets masked, into the snapshot (build -dpo, -dcc).
	DumpPipConfig, DumpCondarc bool
	// From builds an environment that already exists, as it is, instead of
	// a workdir (Workdir and SpecFile must then be empty).
	From EnvSource
	// DisableEnvLock takes the spec's dependencies as written for the lock
	// (build -del; see disablelock.go).
	DisableEnvLock bool
}

// BuildResult is what build prints.
type BuildResult struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Digest  string   `json:"digest"`
	Tags    []string `json:"tags"`
	URI     string   `json:"uri"`
	Size    int64    `json:"size"`
	Layers  int      `json:"layers"`
	Reused  int      `json:"layers_reused"`
}

// buildInput is a build's checked inputs.
type buildInput struct {
	wd, relSpec string
	project     string
	sp, rs      *spec.Spec // as written, and resolved against wd
	// prefix is the existing environment a build of one packs (else the
	// workdir's own).
	prefix string
}

// Build makes sure the workdir's environment exists and holds the declared
// dependencies, checks it (pip check), locks it, and stores a bundle of it in
// the local store as a new version.
func (s *Service) Build(ctx context.Context, o BuildOptions) (*BuildResult, error) {
	clk := s.newStepClock("build")
	var in *buildInput
	var err error
	if o.From.Given() {
		in, err = s.checkFromEnv(o)
	} else {
		in, err = checkBuild(o)
	}
	if err != nil {
		return nil, err
	}
	dumped, err := dumpConfigs(in.wd, o.DumpPipConfig, o.DumpCondarc)
	if err != nil {
		return nil, err
	}
	l, err := s.Instances().Local()
	if err != nil {
		return nil, err
	}
	reg := l.Registry()
	// The mode's plugin starts only when needed: a rebuild of an unchanged
	// environment does not need it.
	getMode := sync.OnceValues(func() (mode.Mode, error) { return s.Modes.Mode(ctx, in.sp.Mode) })

	// 1. The environment, holding what runtime.yaml declares.
	// An existing environment is taken as it is, never changed.
	prefix := in.prefix
	if prefix == "" {
		prefix = PrefixOf(in.wd, in.sp.Mode)
	}
	env := s.workdirModeEnv(in.wd, prefix, in.rs, mode.Python{Version: in.sp.Python})
	if in.prefix == "" {
		if err := s.ensureEnv(ctx, getMode, in.wd, in.relSpec, in.rs, env, o.NoCache); err != nil {
			return nil, err
		}
		clk.step("environment ready")
	}

	// 2. Lock and pack the env layers at once (see lockAndPack).
	cache := loadLayerCache(in.wd, o.NoCache)
	pk := &cachingPacker{next: &bundlePacker{s: s, tmp: l.TempDir(), prefix: prefix, wd: in.wd, writeback: !store.DefersSync(reg.Store())},
		cache: cache, has: func(ctx context.Context, d digest.Digest) bool { ok, _ := reg.HasBlob(ctx, d); return ok },
		prefix: prefix, wd: in.wd}
	lp, err := s.lockAndPack(ctx, o, in, env, getMode, pk, reg, clk)
	if err != nil {
		return nil, err
	}
	defer lp.discard()
	if err := checkEditables(in.sp.Mode, lp.lock, lp.rep, o.IncludeEditable, o.LockOnly); err != nil {
		return nil, err
	}
	lockFiles, err := lockFilesOf(in.wd, in.sp.Mode, lp.lock, o.DisableEnvLock)
	if err != nil {
		return nil, err
	}

	// 3. The runtime manifest and the snapshot layer.
	rm, err := s.runtimeManifest(in, o.LockOnly, lp, lockFiles)
	if err != nil {
		return nil, err
	}
	rm.LockDisabled = o.DisableEnvLock
	snapFiles, err := snapshotFiles(in.wd, in.relSpec, in.rs, lockFiles, localSources(in.wd, lp.lock.Packages))
	if err != nil {
		return nil, err
	}
	snapFiles = append(snapFiles, dumped...)
	sort.Strings(snapFiles)
	snapPacked, err := pk.prepare(ctx, []layerJob{{role: bundle.RoleSnapshot, root: in.wd, files: snapFiles}})
	if err != nil {
		return nil, err
	}
	defer snapPacked.discard()
	clk.step("snapshot packed")

	// 4. Store the blobs, then the version.
	descs, reused, _, err := snapPacked.commit(ctx, reg)
	if err != nil {
		return nil, err
	}
	envDescs, envReused, rel, err := lp.commit(ctx, reg)
	if err != nil {
		return nil, err
	}
	descs, reused = append(descs, envDescs...), reused+envReused
	cache.save()
	if !o.LockOnly && rel != nil {
		rm.Relocation = rel
	}
	v, err := s.storeVersion(ctx, reg, in, rm, descs, o.Tags)
	if err != nil {
		return nil, err
	}
	lp.memo.save(in.wd, lp.lock, o.LockOnly, lp.rep, envDescs, rel)
	clk.step("version stored")
	return &BuildResult{Name: in.sp.Name, Version: v.Short, Digest: string(v.Digest), Tags: v.Tags,
		URI:  l.URI(v).String(),
		Size: v.Size, Layers: len(descs), Reused: reused}, nil
}

// stepClock logs, at debug level, how long each step of a workflow took
// and how long since it started (where a build's time goes).
type stepClock struct {
	log         hclog.Logger
	what        string
	start, last time.Time
	lastCPU     time.Duration
	mu          sync.Mutex
}

// cpuTime is the CPU time (user + system) this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (s *Service) newStepClock(what string) *stepClock {
	now := time.Now()
	return &stepClock{log: s.log(), what: what, start: now, last: now, lastCPU: cpuTime()}
}

// step logs that step just ended; steps may end on several goroutines.
func (c *stepClock) step(step string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, cpu := time.Now(), cpuTime()
	// cpu is swcli's own CPU time in the step (not its plugins'), from any
	// goroutine: over took, it says how many cores the step kept busy.
	c.log.Debug(c.what+" step done", "step", step, "took", now.Sub(c.last).Round(time.Millisecond),
		"cpu", (cpu - c.lastCPU).Round(time.Millisecond), "since_start", now.Sub(c.start).Round(time.Millisecond))
	c.last, c.lastCPU = now, cpu
}

// checkBuild checks a build's options and loads its runtime.yaml.
func checkBuild(o BuildOptions) (*buildInput, error) {
	wd, err := absWorkdir(o.Workdir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(wd); err != nil || !st.IsDir() {
		return nil, usagef("workdir %s does not exist", displayDir(o.Workdir))
	}
	if err := o.checkTagsAndProject(); err != nil {
		return nil, err
	}
	in := &buildInput{wd: wd, project: o.Project}
	if in.project == "" {
		in.project = instance.DefaultProject
	}
	specFile := o.SpecFile
	if specFile == "" {
		specFile = spec.FileName
	}
	specPath := specFile
	if !filepath.IsAbs(specPath) {
		specPath = filepath.Join(wd, specFile)
	}
	relSpec, err := filepath.Rel(wd, specPath)
	if err != nil || strings.HasPrefix(relSpec, "..") {
		return nil, usagef("-f %s: the runtime.yaml must be inside the workdir %s", specFile, wd)
	}
	in.relSpec = filepath.ToSlash(relSpec)
	if in.sp, err = spec.Load(specPath); err != nil {
		return nil, err
	}
	if err := o.Overrides.Apply(in.sp); err != nil {
		return nil, usagef("%v", err)
	}
	if in.rs, err = in.sp.Resolve(wd); err != nil {
		return nil, err
	}
	return in, nil
}

// checkTagsAndProject checks the -t tags and the --project name.
func (o BuildOptions) checkTagsAndProject() error {
	for _, t := range o.Tags {
		// The registry's rules, reserved tags included (ReservedTagError).
		if err := registry.CheckUserTags([]string{t}); err != nil {
			return usagef("-t %s: %v; choose another tag", t, err)
		}
	}
	if o.Project != "" {
		if err := spec.ValidateName(o.Project); err != nil {
			return usagef("--project: %v", err)
		}
	}
	return nil
}

// runtimeManifest is the config blob of the bundle (its relocation record
// is added once the env layers are stored).
func (s *Service) runtimeManifest(in *buildInput, lockOnly bool, lp *lockPack, lockFiles []string) (*Manifest, error) {
	norm, err := in.rs.Normalized()
	if err != nil {
		return nil, err
	}
	sp := in.sp
	rm := &Manifest{Schema: ManifestSchema, Name: sp.Name, Mode: sp.Mode, Python: lp.lock.Python,
		PythonVersion: sp.Python, OS: runtime.GOOS, Arch: runtime.GOARCH, SpecFile: in.relSpec,
		Spec: norm, Lock: lp.lock.Packages, LockFiles: lockFiles, LockOnly: lockOnly, SwcliVersion: s.Version}
	if rm.Lock == nil {
		rm.Lock = []mode.LockedPackage{}
	}
	if !lockOnly {
		rm.Platform, rm.ABI = lp.rep.Platform, lp.rep.ABI
	}
	return rm, nil
}

// storeVersion stores the config blob and the manifest of layers as a new
// version of the runtime.
func (s *Service) storeVersion(ctx context.Context, reg *registry.Registry, in *buildInput, rm *Manifest, layers []ocispec.Descriptor, tags []string) (registry.Version, error) {
	config, err := json.Marshal(rm)
	if err != nil {
		return registry.Version{}, err
	}
	cd := bundle.ConfigDescriptor(config)
	if _, err := reg.PutBlob(ctx, bytes.NewReader(config), cd.Digest); err != nil {
		return registry.Version{}, err
	}
	manifest, err := bundle.Manifest(cd, layers, nil)
	if err != nil {
		return registry.Version{}, err
	}
	s.stage("store version", 0, 0)
	return reg.PutVersion(ctx, in.project, in.sp.Name, manifest, tags)
}

// blobsStored says whether every layer's blob is in the store.
func blobsStored(ctx context.Context, reg *registry.Registry, layers []ocispec.Descriptor) bool {
	for _, l := range layers {
		if has, err := reg.HasBlob(ctx, l.Digest); err != nil || !has {
			return false
		}
	}
	return true
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
