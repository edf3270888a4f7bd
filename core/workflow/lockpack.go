package workflow

import (
	"context"
	"io/fs"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/swcli/swcli/core/envpack"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/registry"
)

// lockPack is what lockAndPack gives: the checked lock, the files report,
// and the env layers, packed now (env) or reused from the memo.
type lockPack struct {
	lock mode.Lock
	rep  mode.FilesReport
	env  *packed
	// base is the base layer, packed on its own when the package layers
	// started before the prefix was walked (joined to env once both are).
	base *packed
	memo *memoMode
	// memoLayers and memoRel are the env layers of the last build, reused.
	memoLayers []ocispec.Descriptor
	memoRel    *Relocation
}

func (lp *lockPack) discard() {
	for _, p := range []*packed{lp.env, lp.base} {
		if p != nil {
			p.discard()
		}
	}
}

// commit stores the env layers packed now, or gives the reused ones.
func (lp *lockPack) commit(ctx context.Context, reg *registry.Registry) ([]ocispec.Descriptor, int, *Relocation, error) {
	switch {
	case lp.env != nil:
		return lp.env.commit(ctx, reg)
	case lp.memoLayers != nil:
		return lp.memoLayers, len(lp.memoLayers), lp.memoRel, nil
	}
	return nil, 0, nil, nil
}

// lockAndPack checks and locks the environment and, at the same time, packs
// its env layers (they need only the mode's files report; only the snapshot
// needs the lock), under one errgroup: a failed lock stops the packing.
// Nothing is stored here. A failed lock (its pip check) is the error shown
// even when packing failed too.
//
// The mode is seen through memoMode: a rebuild of an environment the last
// build checked and locked reuses that lock, files report and layers. With no
// memo to reuse (a first build, or --no-cache) nothing waits for anything it
// does not need: the lock, the files report and the walk of the prefix start
// at once. When the report comes in after the walk (as it usually does),
// every env layer is planned from the walk (envpack.PlanTree); otherwise the
// package layers are planned from the report alone (envpack.PlanPackages,
// which stats each listed file) and packed at once, biggest first, while
// the prefix is still walked, and the base layer follows the walk
// (envpack.Split.Base), beside them. The layers are the same either way.
func (s *Service) lockAndPack(ctx context.Context, o BuildOptions, in *buildInput, env mode.Env, getMode func() (mode.Mode, error), pk packer, reg *registry.Registry, clk *stepClock) (*lockPack, error) {
	early := o.NoCache || !fileExists(memoPath(in.wd))
	mm := &memoMode{s: s, get: getMode}
	lp := &lockPack{memo: mm}
	g, gctx := errgroup.WithContext(ctx)
	var lockErr error
	startLock := func() {
		g.Go(func() error {
			// The outer ctx: the lock is not cut short by a packing error,
			// so its own error (which the user must see first) is complete.
			lp.lock, lockErr = mm.Lock(ctx, mode.LockRequest{Env: env, Check: true}, s.Events)
			clk.step("locked")
			return lockErr
		})
	}
	filesReq := mode.FilesRequest{Env: env, IncludeEditable: o.IncludeEditable}
	envJobs := func(layers []envpack.Layer, stats interface{ Stat(string) fs.FileInfo }) []layerJob {
		jobs := make([]layerJob, 0, len(layers))
		for _, l := range layers {
			jobs = append(jobs, layerJob{role: l.Role, pkg: l.Package, root: env.Prefix, files: l.Files, sources: l.Sources, scrub: true, stats: stats})
		}
		return jobs
	}
	// files waits for the files report (asked early, or now).
	files := func() (mode.FilesReport, error) {
		rep, err := mm.Files(gctx, filesReq)
		if err == nil {
			clk.step("files listed")
			lp.rep = rep
		}
		return rep, err
	}
	// split gives the base layer's goroutine the plan of the package
	// layers, or nil when all the env layers were planned from the walk.
	split := make(chan *envpack.Split, 1)
	var tree *envpack.Tree
	var walkErr error
	walked := make(chan struct{}) // closed once tree and walkErr are set
	if early {
		startLock()
		if !o.LockOnly {
			mm.prefetchFiles(gctx, filesReq)
			g.Go(func() error {
				rep, err := files()
				if err != nil {
					return err
				}
				select {
				case <-walked:
					if walkErr == nil {
						// The walk was done first (it usually is): plan
						// every layer from it, without an Lstat of each
						// listed file. The same layers either way
						// (TestSplitIsPlan).
						split <- nil
						plan, err := envpack.PlanTree(tree, rep)
						if err != nil {
							return err
						}
						lp.env, err = pk.prepare(gctx, envJobs(plan, tree))
						clk.step("env layers packed")
						return err
					}
				default:
				}
				sp, layers, err := envpack.PlanPackages(env.Prefix, rep)
				if err != nil {
					return err
				}
				split <- sp
				lp.env, err = pk.prepare(gctx, envJobs(layers, sp))
				clk.step("package layers packed")
				return err
			})
		}
	}
	// One walk of the prefix gives its fingerprint, its plan (the base
	// layer's) and the stats of the files packed.
	tree, walkErr = envpack.Walk(env.Prefix)
	close(walked)
	if walkErr == nil {
		mm.key = envFingerprint(tree, in.sp.Mode) + "\x00" + s.Version + "\x00" + layerFormat
	}
	clk.step("prefix walked")
	if !early {
		mm.useMemo(in.wd, o)
		startLock()
	}
	switch {
	case o.LockOnly:
	case early:
		g.Go(func() error {
			if walkErr != nil {
				return walkErr
			}
			var sp *envpack.Split
			select {
			case sp = <-split:
			case <-gctx.Done():
				return gctx.Err()
			}
			if sp == nil {
				return nil // the base layer is packed with the others
			}
			base, err := sp.Base(tree)
			if err != nil {
				return err
			}
			lp.base, err = pk.prepare(gctx, envJobs([]envpack.Layer{base}, tree))
			clk.step("base layer packed")
			return err
		})
	default:
		if layers, rel, rep, ok := mm.envLayers(ctx, reg); ok {
			lp.memoLayers, lp.memoRel, lp.rep = layers, rel, rep
			break
		}
		g.Go(func() error {
			rep, err := files()
			if err != nil {
				return err
			}
			var plan []envpack.Layer
			var stats interface{ Stat(string) fs.FileInfo }
			if walkErr == nil {
				plan, err = envpack.PlanTree(tree, rep)
				stats = tree
			} else {
				plan, err = envpack.Plan(env.Prefix, rep)
			}
			if err != nil {
				return err
			}
			lp.env, err = pk.prepare(gctx, envJobs(plan, stats))
			clk.step("env layers packed")
			return err
		})
	}
	err := g.Wait()
	if lockErr != nil {
		err = lockErr
	}
	if err != nil {
		lp.discard()
		return nil, err
	}
	if lp.base != nil {
		// The layers in plan order: the base first.
		lp.env, lp.base = lp.base.join(lp.env), nil
	}
	return lp, nil
}
