package workflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/envpack"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/spec"
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

// Build makes sure the workdir's environment exists and holds the declared
// dependencies, checks it (pip check), locks it, and stores a bundle of it in
// the local store as a new version.
func (s *Service) Build(ctx context.Context, o BuildOptions) (*BuildResult, error) {
	wd, err := absWorkdir(o.Workdir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(wd); err != nil || !st.IsDir() {
		return nil, usagef("workdir %s does not exist", displayDir(o.Workdir))
	}
	for _, t := range o.Tags {
		if registry.IsReservedTag(t) {
			return nil, usagef("-t %s: tag %q is reserved (latest and vN are given automatically); choose another tag", t, t)
		}
		if err := registry.CheckUserTags([]string{t}); err != nil {
			return nil, usagef("-t %s: %v", t, err)
		}
	}
	if o.Project == "" {
		o.Project = instance.DefaultProject
	}
	if err := spec.ValidateName(o.Project); err != nil {
		return nil, usagef("--project: %v", err)
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
	relSpec = filepath.ToSlash(relSpec)
	sp, err := spec.Load(specPath)
	if err != nil {
		return nil, err
	}
	rs, err := sp.Resolve(wd)
	if err != nil {
		return nil, err
	}
	// The mode's plugin starts only when needed: a rebuild of an unchanged
	// environment does not need it.
	getMode := sync.OnceValues(func() (mode.Mode, error) { return s.Modes.Mode(ctx, sp.Mode) })
	reg, fsStore, err := s.Local()
	if err != nil {
		return nil, err
	}

	// 1. The environment, holding what runtime.yaml declares.
	prefix := PrefixOf(wd, sp.Mode)
	env := EnvFor(wd, prefix, rs, mode.Python{Version: sp.Python})
	if err := s.ensureEnv(ctx, getMode, wd, relSpec, rs, env, o.NoCache); err != nil {
		return nil, err
	}

	// 2. Check and lock (unless the environment is the one the last build
	// checked and locked: see buildMemo), and at the same time pack the env
	// layers: they need only the mode's files report; only the snapshot
	// needs the lock. Nothing is stored before the lock (with its pip check)
	// succeeded.
	//
	// With no memo to reuse (a first build, or --no-cache), the lock and the
	// files report are asked for at once, while the prefix is walked.
	cache := loadLayerCache(wd, o.NoCache)
	packCtx, cancelPack := context.WithCancel(ctx)
	defer cancelPack()
	var lock mode.Lock
	var lockErr error
	lockDone := make(chan struct{})
	startLock := func() error {
		m, err := getMode()
		if err != nil {
			lockErr = err
			close(lockDone)
			return err
		}
		s.stage("lock", 0, 0)
		go func() {
			defer close(lockDone)
			if lock, lockErr = m.Lock(ctx, mode.LockRequest{Env: env, Check: true}, s.Events); lockErr != nil {
				cancelPack()
			}
		}()
		return nil
	}
	type filesResult struct {
		rep mode.FilesReport
		err error
	}
	var earlyFiles chan filesResult
	early := o.NoCache || !fileExists(memoPath(wd))
	if early {
		// The lock (pip check: a Python process of its own) starts once the
		// files report is in, so it does not slow down what packing waits
		// for: the report and the walk.
		if o.LockOnly {
			if err := startLock(); err != nil {
				return nil, err
			}
		} else {
			m, err := getMode()
			if err != nil {
				return nil, err
			}
			earlyFiles = make(chan filesResult, 1)
			go func() {
				rep, err := m.Files(packCtx, mode.FilesRequest{Env: env, IncludeEditable: o.IncludeEditable})
				earlyFiles <- filesResult{rep, err}
			}()
		}
	}
	// One walk of the prefix gives its fingerprint, its plan and the stats
	// of the files packed.
	memoKey := ""
	tree, err := envpack.Walk(prefix)
	if err == nil {
		memoKey = envFingerprint(tree, sp.Mode) + "\x00" + s.Version + "\x00" + layerFormat
	} else {
		tree = nil
	}
	var memo *buildMemo
	if !early {
		memo = loadBuildMemo(wd, memoKey)
		if memoKey == "" || o.NoCache || (memo != nil && memo.Files == nil && !o.LockOnly) {
			memo = nil
		}
	}
	if memo != nil {
		lock = memo.Lock
		close(lockDone)
	} else if !early {
		if err := startLock(); err != nil {
			return nil, err
		}
	}
	var rep mode.FilesReport
	var envPacked *packed
	var memoLayers []ocispec.Descriptor
	if memo != nil && !o.LockOnly && !hasEditable(memo.Lock) && memo.EnvLayers != nil && memo.Files != nil && blobsStored(ctx, reg, memo.EnvLayers) {
		// The environment is the one the last build packed: its layers are.
		memoLayers, rep = memo.EnvLayers, *memo.Files
	}
	envErr := func() error {
		if o.LockOnly || memoLayers != nil {
			return nil
		}
		// The files of an editable install live in its source tree, which
		// the environment's fingerprint does not cover: ask again.
		switch {
		case earlyFiles != nil:
			r := <-earlyFiles
			if err := startLock(); err != nil {
				return err
			}
			if r.err != nil {
				return r.err
			}
			rep = r.rep
		case memo != nil && !hasEditable(memo.Lock):
			rep = *memo.Files
		default:
			m, err := getMode()
			if err != nil {
				return err
			}
			if rep, err = m.Files(packCtx, mode.FilesRequest{Env: env, IncludeEditable: o.IncludeEditable}); err != nil {
				return err
			}
		}
		var plan []envpack.Layer
		var err error
		if tree != nil {
			plan, err = envpack.PlanTree(tree, rep)
		} else {
			plan, err = envpack.Plan(prefix, rep)
		}
		if err != nil {
			return err
		}
		var jobs []layerJob
		for _, l := range plan {
			jobs = append(jobs, layerJob{role: l.Role, pkg: l.Package, root: prefix, files: l.Files, sources: l.Sources, scrub: true, tree: tree})
		}
		envPacked, err = s.packPrepare(packCtx, reg, fsStore.TempDir(), jobs, cache, prefix, wd)
		return err
	}()
	<-lockDone
	if envPacked != nil {
		defer envPacked.discard()
	}
	if lockErr != nil {
		return nil, lockErr
	}
	if envErr != nil {
		return nil, envErr
	}
	var editables []mode.LockedPackage
	for _, p := range lock.Packages {
		if !p.Editable {
			continue
		}
		if !o.IncludeEditable {
			return nil, usagef("%s %s is an editable install (pip install -e); a bundle cannot carry a link to your source tree: install it normally, or build with --include-editable to pack its files as they are now", p.Name, p.Version)
		}
		editables = append(editables, p)
	}
	if !o.LockOnly {
		if err := checkEditablesPacked(sp.Mode, editables, rep); err != nil {
			return nil, err
		}
	}
	lockDir := LockDirOf(wd)
	var lockFiles []string
	for _, lf := range lock.Files {
		if !mode.ValidLockFileName(lf.Name) {
			return nil, fmt.Errorf("mode %s returned a lock file with a bad name %q", sp.Mode, lf.Name)
		}
		// Unchanged lock files are left alone, so the snapshot layer's
		// cache entry still holds.
		lp := filepath.Join(lockDir, lf.Name)
		if old, err := os.ReadFile(lp); err != nil || !bytes.Equal(old, lf.Content) {
			if err := instance.WriteFileAtomic(lp, lf.Content, 0o644); err != nil {
				return nil, err
			}
		}
		lockFiles = append(lockFiles, lf.Name)
	}
	sort.Strings(lockFiles)

	// 3. The manifest and the snapshot layer.
	norm, err := rs.Normalized()
	if err != nil {
		return nil, err
	}
	rm := &Manifest{Schema: ManifestSchema, Name: sp.Name, Mode: sp.Mode, Python: lock.Python,
		PythonVersion: sp.Python, OS: runtime.GOOS, Arch: runtime.GOARCH, SpecFile: relSpec,
		Spec: norm, Lock: lock.Packages, LockFiles: lockFiles, LockOnly: o.LockOnly, SwcliVersion: s.Version}
	if rm.Lock == nil {
		rm.Lock = []mode.LockedPackage{}
	}
	if !o.LockOnly {
		rm.Platform, rm.ABI = rep.Platform, rep.ABI
	}
	snapFiles, err := snapshotFiles(wd, relSpec, rs, lockFiles, localSources(wd, lock.Packages))
	if err != nil {
		return nil, err
	}
	snapPacked, err := s.packPrepare(ctx, reg, fsStore.TempDir(), []layerJob{{role: bundle.RoleSnapshot, root: wd, files: snapFiles}}, cache, prefix, wd)
	if err != nil {
		return nil, err
	}
	defer snapPacked.discard()

	// 4. Store the blobs.
	descs, reused, _, err := snapPacked.commit(ctx, reg, cache, prefix)
	if err != nil {
		return nil, err
	}
	var rel *Relocation
	var envDescs []ocispec.Descriptor
	switch {
	case envPacked != nil:
		var envReused int
		if envDescs, envReused, rel, err = envPacked.commit(ctx, reg, cache, prefix); err != nil {
			return nil, err
		}
		reused += envReused
	case memoLayers != nil:
		envDescs, rel, reused = memoLayers, memo.Relocation, reused+len(memoLayers)
	}
	descs = append(descs, envDescs...)
	cache.save()
	if !o.LockOnly && rel != nil {
		rm.Relocation = rel
	}
	config, err := json.Marshal(rm)
	if err != nil {
		return nil, err
	}
	cd := bundle.ConfigDescriptor(config)
	if _, err := reg.PutBlob(ctx, strings.NewReader(string(config)), cd.Digest); err != nil {
		return nil, err
	}
	manifest, err := bundle.Manifest(cd, descs, nil)
	if err != nil {
		return nil, err
	}
	s.stage("store version", 0, 0)
	v, err := reg.PutVersion(ctx, o.Project, sp.Name, manifest, o.Tags)
	if err != nil {
		return nil, err
	}
	if memoKey != "" && (memo == nil || (memoLayers == nil && envDescs != nil)) {
		memo = &buildMemo{Key: memoKey, Lock: lock}
		if !o.LockOnly {
			memo.Files = &rep
			if !hasEditable(lock) {
				memo.EnvLayers, memo.Relocation = envDescs, rel
			}
		}
		saveBuildMemo(wd, memo)
	}
	return &BuildResult{Name: sp.Name, Version: v.Short, Digest: string(v.Digest), Tags: v.Tags,
		URI:  fmt.Sprintf("local/project/%s/runtime/%s/version/%s", o.Project, sp.Name, v.Short),
		Size: v.Size, Layers: len(descs), Reused: reused}, nil
}

// ensureEnv makes the environment when it is missing, half-made or NoCache
// is set, and installs the dependencies again when what runtime.yaml
// declares (including the content of the files it names) changed since.
func (s *Service) ensureEnv(ctx context.Context, getMode func() (mode.Mode, error), wd, relSpec string, rs *spec.Spec, env mode.Env, noCache bool) error {
	statePath := StatePathOf(wd, rs.Mode)
	st, _ := ReadState(statePath)
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
		if err := WriteState(statePath, st); err != nil {
			return err
		}
		if len(rs.Dependencies) > 0 {
			if err := m.Install(ctx, mode.InstallRequest{Env: env, Dependencies: rs.Dependencies}, s.Events); err != nil {
				return err
			}
		}
		act, err := m.Activation(ctx, mode.ActivationRequest{Env: env, Shell: "sh", Name: rs.Name})
		if err != nil {
			return err
		}
		st.State, st.DepsDigest = StateReady, dd
		st.Vars, st.Unset, st.Script = act.Vars, act.Unset, scriptIf(act)
		return WriteState(statePath, st)
	}
	// (Re)make it from scratch.
	m, err := getMode()
	if err != nil {
		return err
	}
	if err := os.RemoveAll(env.Prefix); err != nil {
		return err
	}
	st = &State{State: StateCreating, Mode: rs.Mode, Name: rs.Name, Python: rs.Python, Prefix: env.Prefix}
	if err := WriteState(statePath, st); err != nil {
		return err
	}
	if err := s.makeEnv(ctx, m, env, rs.Dependencies); err != nil {
		return err
	}
	act, err := m.Activation(ctx, mode.ActivationRequest{Env: env, Shell: "sh", Name: rs.Name})
	if err != nil {
		return err
	}
	st.State, st.Vars, st.Unset, st.Script, st.DepsDigest = StateReady, act.Vars, act.Unset, scriptIf(act), dd
	return WriteState(statePath, st)
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

// snapshotFiles lists the snapshot layer: runtime.yaml, the files it names,
// and the lock files.
func snapshotFiles(wd, relSpec string, rs *spec.Spec, lockFiles, extra []string) ([]string, error) {
	set := map[string]bool{relSpec: true}
	for _, f := range append(rs.Files(), extra...) {
		files, err := walkRel(wd, f)
		if err != nil {
			return nil, err
		}
		for _, x := range files {
			if strings.HasPrefix(x, DotDir+"/") {
				continue // never the environment itself
			}
			set[x] = true
		}
	}
	for _, lf := range lockFiles {
		set[DotDir+"/lock/"+lf] = true
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}

// localSources lists the workdir files the lock installs from (local wheels
// named in requirement files), so a restore from the lock works offline.
func localSources(wd string, pkgs []mode.LockedPackage) []string {
	var out []string
	for _, p := range pkgs {
		src := p.Source
		if src == "" || strings.Contains(src, "://") || strings.HasPrefix(src, "/") || strings.Contains(src, "+") {
			continue
		}
		clean := filepath.ToSlash(filepath.Clean(src))
		if strings.HasPrefix(clean, "../") || clean == ".." {
			continue
		}
		if st, err := os.Stat(filepath.Join(wd, filepath.FromSlash(clean))); err == nil && st.Mode().IsRegular() {
			out = append(out, clean)
		}
	}
	return out
}

// checkEditablesPacked makes sure the mode reported the files of every
// editable install (--include-editable): a mode that does not know how
// returns none, and its bundle would hold only the link to the source tree.
func checkEditablesPacked(modeName string, editables []mode.LockedPackage, rep mode.FilesReport) error {
	for _, e := range editables {
		found := false
		for _, p := range rep.Packages {
			if normName(p.Name) == normName(e.Name) && len(p.External) > 0 {
				found = true
				break
			}
		}
		if !found {
			return usagef("%s %s is an editable install and the %s mode did not report the files of its source tree, so --include-editable cannot pack it: install it normally (pip install, not pip install -e)", e.Name, e.Version, modeName)
		}
	}
	return nil
}

type layerJob struct {
	role, pkg string
	root      string
	files     []string
	// sources maps the files (and folders) read from outside root to
	// their paths (envpack.Layer.Sources).
	sources map[string]string
	scrub   bool
	// tree, when set, is a walk of root that gives the Lstat of the files
	// read from root.
	tree *envpack.Tree
}

// source returns the file to read for the layer path rel ("" for root/rel).
func (j *layerJob) source(rel string) string { return j.sources[rel] }

// stat returns the Lstat of the file read for rel from the job's tree, or
// nil.
func (j *layerJob) stat(rel string) fs.FileInfo {
	if j.tree == nil || j.sources[rel] != "" {
		return nil
	}
	return j.tree.Stat(rel)
}

// packLayers packs the jobs and stores their blobs: packPrepare then
// packCommit.
func (s *Service) packLayers(ctx context.Context, reg *registry.Registry, tmp string, jobs []layerJob, cache *layerCache, prefix, wd string) ([]ocispec.Descriptor, int, *Relocation, error) {
	p, err := s.packPrepare(ctx, reg, tmp, jobs, cache, prefix, wd)
	if err != nil {
		return nil, 0, nil, err
	}
	return p.commit(ctx, reg, cache, prefix)
}

// packed is layers packed into temporary files and not yet stored.
type packed struct {
	jobs      []layerJob
	keys      []string
	results   []cacheEntry
	todo      []int
	res       []bundle.LayerResult
	scrubbers []*envpack.Scrubber
	reused    int
}

// packPrepare packs the jobs (in parallel) into temporary files in tmp,
// reusing layers whose files did not change since the last build. Nothing is
// stored yet: commit stores them, discard throws them away.
func (s *Service) packPrepare(ctx context.Context, reg *registry.Registry, tmp string, jobs []layerJob, cache *layerCache, prefix, wd string) (*packed, error) {
	p := &packed{jobs: jobs, keys: make([]string, len(jobs)), results: make([]cacheEntry, len(jobs)),
		scrubbers: make([]*envpack.Scrubber, len(jobs))}
	for i, j := range jobs {
		k, err := layerKey(j, prefix, wd)
		if err != nil {
			return nil, err
		}
		p.keys[i] = k
		if e, ok := cache.get(k); ok {
			if has, _ := reg.HasBlob(ctx, e.Digest); has {
				p.results[i] = e
				p.reused++
				continue
			}
		}
		p.todo = append(p.todo, i)
	}
	var bjobs []bundle.LayerJob
	for _, i := range p.todo {
		j := jobs[i]
		opts := bundle.PackOptions{}
		if len(j.sources) > 0 {
			opts.Source = j.source
		}
		if j.tree != nil {
			opts.Stat = j.stat
		}
		if j.scrub {
			sc := envpack.NewScrubber(prefix, wd)
			if opts.Source != nil {
				sc.SetSource(opts.Source)
			}
			p.scrubbers[i] = sc
			// Every file up to envpack.MaxScan, as sc.Rewrite says, from the
			// scan's stat.
			opts.RewriteMax, opts.Transform = envpack.MaxScan, sc.Transform
		}
		bjobs = append(bjobs, bundle.LayerJob{Root: j.root, Paths: j.files, Options: opts, Dir: tmp})
	}
	if len(bjobs) > 0 {
		s.stage(fmt.Sprintf("pack %d layers", len(bjobs)), 0, int64(len(bjobs)))
		res, err := bundle.PackLayers(ctx, bjobs, max(1, runtime.NumCPU()))
		p.res = res
		if err != nil {
			p.discard()
			return nil, err
		}
	}
	return p, nil
}

// discard removes the temporary files of layers not committed.
func (p *packed) discard() {
	for _, r := range p.res {
		if r.Path != "" {
			_ = os.Remove(r.Path)
		}
	}
}

// commit stores the packed layers' blobs and returns the layer descriptors
// in job order, how many layers were reused, and the relocation record.
func (p *packed) commit(ctx context.Context, reg *registry.Registry, cache *layerCache, prefix string) ([]ocispec.Descriptor, int, *Relocation, error) {
	defer p.discard() // what PutBlobFile did not consume
	for n, i := range p.todo {
		r := p.res[n]
		if _, err := reg.PutBlobFile(ctx, r.Path, r.Digest, true); err != nil {
			return nil, 0, nil, err
		}
		p.res[n].Path = ""
		e := cacheEntry{Digest: r.Digest, Size: r.Size, Uncompressed: r.UncompressedSize, Files: r.Files}
		if sc := p.scrubbers[i]; sc != nil {
			e.Text, e.Binary = sc.Result()
		}
		p.results[i] = e
		cache.put(p.keys[i], e)
	}
	descs := make([]ocispec.Descriptor, len(p.jobs))
	rel := &Relocation{}
	for i, j := range p.jobs {
		e := p.results[i]
		descs[i] = bundle.LayerDescriptor(bundle.LayerInfo{Digest: e.Digest, Size: e.Size, UncompressedSize: e.Uncompressed, Files: e.Files}, j.role, j.pkg)
		rel.TextFiles = append(rel.TextFiles, e.Text...)
		rel.BinaryFiles = append(rel.BinaryFiles, e.Binary...)
	}
	sort.Strings(rel.TextFiles)
	sort.Strings(rel.BinaryFiles)
	if len(rel.BinaryFiles) > 0 {
		rel.OldPrefix = prefix
	}
	return descs, p.reused, rel, nil
}

// layerFormat changes when packing changes in a way the cache must not
// survive.
const layerFormat = "swcli-layer-4" // 4: paths scrubbed wherever they start; conda-meta normalized

// layerKey identifies a layer's input on this machine: the files' paths,
// sizes, modification times, modes and inodes (of the file read: an
// external file's source), and the paths scrubbed.
func layerKey(j layerJob, prefix, wd string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%v\x00%s\x00%s\n", layerFormat, j.role, j.pkg, j.root, j.scrub, prefix, wd)
	for _, f := range j.files {
		full := filepath.Join(j.root, filepath.FromSlash(f))
		if src := j.sources[f]; src != "" {
			full = src
			fmt.Fprintf(h, "external\x00%s\x00%s\n", f, src)
		}
		st := j.stat(f)
		if st == nil {
			var err error
			if st, err = os.Lstat(full); err != nil {
				return "", err
			}
		}
		var ino uint64
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			ino = sys.Ino
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%o\x00%d\n", f, st.Size(), st.ModTime().UnixNano(), st.Mode(), ino)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type cacheEntry struct {
	Digest       digest.Digest `json:"digest"`
	Size         int64         `json:"size"`
	Uncompressed int64         `json:"uncompressed"`
	Files        int           `json:"files"`
	Text         []string      `json:"text,omitempty"`
	Binary       []string      `json:"binary,omitempty"`
}

// layerCache remembers packed layers by layerKey, in
// WORKDIR/.starwhale/cache/layers.json. It is only a hint: a layer is reused
// only when its blob is still in the store.
type layerCache struct {
	path    string
	entries map[string]cacheEntry
	used    map[string]bool
	dirty   bool
}

func loadLayerCache(wd string, skip bool) *layerCache {
	c := &layerCache{path: filepath.Join(wd, DotDir, "cache", "layers.json"), entries: map[string]cacheEntry{}, used: map[string]bool{}}
	if skip {
		return c
	}
	data, err := os.ReadFile(c.path)
	if err == nil {
		_ = json.Unmarshal(data, &c.entries)
	}
	return c
}

func (c *layerCache) get(k string) (cacheEntry, bool) {
	e, ok := c.entries[k]
	if ok {
		c.used[k] = true
	}
	return e, ok && e.Digest != ""
}

func (c *layerCache) put(k string, e cacheEntry) {
	c.entries[k], c.used[k], c.dirty = e, true, true
}

// save keeps the entries this build used (so the file does not grow forever).
func (c *layerCache) save() {
	keep := map[string]cacheEntry{}
	for k := range c.used {
		keep[k] = c.entries[k]
	}
	if !c.dirty && len(keep) == len(c.entries) {
		return
	}
	data, err := json.Marshal(keep)
	if err == nil {
		_ = instance.WriteFileAtomic(c.path, data, 0o644)
	}
}

func hasEditable(l mode.Lock) bool {
	for _, p := range l.Packages {
		if p.Editable {
			return true
		}
	}
	return false
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
