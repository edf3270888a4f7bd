package workflow

import (
	"context"

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
	memo *memoMode
	// memoLayers and memoRel are the env layers of the last build, reused.
	memoLayers []ocispec.Descriptor
	memoRel    *Relocation
}

func (lp *lockPack) discard() {
	if lp.env != nil {
		lp.env.discard()
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
// memo to reuse (a first build, or --no-cache) the lock and the files report
// are both asked for at once, while the prefix is walked: the lock (pip
// check, the inspect script: Python processes) runs beside the packing, which
// needs only the report (the venv mode reads it in Go).
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
	if early {
		startLock()
		if !o.LockOnly {
			mm.prefetchFiles(gctx, filesReq)
		}
	}
	// One walk of the prefix gives its fingerprint, its plan and the stats
	// of the files packed.
	tree, err := envpack.Walk(env.Prefix)
	if err != nil {
		tree = nil
	} else {
		mm.key = envFingerprint(tree, in.sp.Mode) + "\x00" + s.Version + "\x00" + layerFormat
	}
	clk.step("prefix walked")
	if !early {
		mm.useMemo(in.wd, o)
		startLock()
	}
	if !o.LockOnly {
		if layers, rel, rep, ok := mm.envLayers(ctx, reg); ok {
			lp.memoLayers, lp.memoRel, lp.rep = layers, rel, rep
		} else {
			g.Go(func() error {
				rep, err := mm.Files(gctx, filesReq)
				if err != nil {
					return err
				}
				clk.step("files listed")
				lp.rep = rep
				var plan []envpack.Layer
				if tree != nil {
					plan, err = envpack.PlanTree(tree, rep)
				} else {
					plan, err = envpack.Plan(env.Prefix, rep)
				}
				if err != nil {
					return err
				}
				jobs := make([]layerJob, 0, len(plan))
				for _, l := range plan {
					jobs = append(jobs, layerJob{role: l.Role, pkg: l.Package, root: env.Prefix, files: l.Files, sources: l.Sources, scrub: true, tree: tree})
				}
				lp.env, err = pk.prepare(gctx, jobs)
				clk.step("env layers packed")
				return err
			})
		}
	}
	err = g.Wait()
	if lockErr != nil {
		err = lockErr
	}
	if err != nil {
		lp.discard()
		return nil, err
	}
	return lp, nil
}
