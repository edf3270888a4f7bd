package workflow

import (
	"context"
	"os"
	"path/filepath"

	"github.com/swcli/swcli/core/mode"
)

// workdirEnv owns the environment of one mode in a workdir: its prefix
// (WORKDIR/.starwhale/<mode>) and its state file. Create, Build and Restore
// make, replace and mark environments ready only through it:
//
//   - replace moves an existing environment and its state file aside and
//     records the new one as being made; the replacement's done puts the old
//     one back if making the new one failed, and drops it otherwise;
//   - ready caches the activation (so `runtime run` needs no plugin) and
//     records the environment as ready, the last write of every path.
type workdirEnv struct {
	Prefix    string
	StatePath string
}

func envOf(wd, modeName string) workdirEnv {
	return workdirEnv{Prefix: PrefixOf(wd, modeName), StatePath: StatePathOf(wd, modeName)}
}

// replacement is a new environment being made where an old one may be.
type replacement struct {
	e                 workdirEnv
	aside, stateAside string
}

// replace moves the old environment (and state file, byte for byte) aside and
// writes st, the new environment's state (creating).
func (e workdirEnv) replace(st *State) (*replacement, error) {
	// What a replacement killed midway left aside (its done never ran).
	for _, p := range []string{e.Prefix, e.StatePath} {
		stale, _ := filepath.Glob(p + ".old-*")
		for _, x := range stale {
			_ = os.RemoveAll(x)
		}
	}
	r := &replacement{e: e}
	if _, err := os.Lstat(e.Prefix); err == nil {
		r.aside = e.Prefix + ".old-" + randSuffix()
		if err := os.Rename(e.Prefix, r.aside); err != nil {
			return nil, err
		}
	}
	if _, err := os.Lstat(e.StatePath); err == nil && r.aside != "" {
		r.stateAside = e.StatePath + ".old-" + randSuffix()
		if err := os.Rename(e.StatePath, r.stateAside); err != nil {
			_ = os.Rename(r.aside, e.Prefix)
			return nil, err
		}
	}
	if err := WriteState(e.StatePath, st); err != nil {
		r.done(err)
		return nil, err
	}
	return r, nil
}

// done ends the replacement: with err set, the new environment goes and the
// old one comes back as it was; else the old one is removed.
func (r *replacement) done(err error) {
	if err != nil {
		_ = os.RemoveAll(r.e.Prefix)
		_ = os.Remove(r.e.StatePath)
		if r.aside != "" {
			_ = os.Rename(r.aside, r.e.Prefix)
		}
		if r.stateAside != "" {
			_ = os.Rename(r.stateAside, r.e.StatePath)
		}
		return
	}
	if r.aside != "" {
		_ = os.RemoveAll(r.aside)
	}
	if r.stateAside != "" {
		_ = os.Remove(r.stateAside)
	}
}

// ready caches env's sh activation in st and records it ready.
func (s *Service) ready(ctx context.Context, e workdirEnv, m mode.Mode, env mode.Env, name string, st *State) error {
	if err := s.cacheActivation(ctx, m, env, name, st); err != nil {
		return err
	}
	return e.markReady(st)
}

// cacheActivation asks the mode for env's sh activation and keeps what
// `runtime run` needs in st.
func (s *Service) cacheActivation(ctx context.Context, m mode.Mode, env mode.Env, name string, st *State) error {
	act, err := m.Activation(ctx, mode.ActivationRequest{Env: env, Shell: "sh", Name: name})
	if err != nil {
		return err
	}
	st.Vars, st.Unset, st.Script = act.Vars, act.Unset, scriptIf(act)
	return nil
}

// markReady records st as a ready environment.
func (e workdirEnv) markReady(st *State) error {
	st.State = StateReady
	return WriteState(e.StatePath, st)
}
