package workflow

import (
	"context"

	"github.com/swcli/swcli/core/mode"
)

// LockOptions are the inputs of `runtime lock`: a workdir whose environment
// is ready, or an existing environment (From).
type LockOptions struct {
	Workdir string
	From    EnvSource
	// Write puts the lock files under WORKDIR/.starwhale/lock (for an
	// existing environment: under the current folder's); without it they are
	// only returned (--stdout).
	Write bool
}

// LockResult is what `runtime lock` did.
type LockResult struct {
	Mode     string          `json:"mode"`
	Prefix   string          `json:"prefix"`
	Python   string          `json:"python"`
	Packages int             `json:"packages"`
	Dir      string          `json:"dir,omitempty"`
	Files    []mode.LockFile `json:"files"`
}

// Lock checks and locks an environment without building it: the same mode
// Lock call a build makes, on the workdir's environment or on one that
// exists elsewhere, which is never changed.
func (s *Service) Lock(ctx context.Context, o LockOptions) (*LockResult, error) {
	var in *buildInput
	var err error
	target := o.Workdir
	if o.From.Given() {
		in, err = s.checkFromEnv(BuildOptions{Workdir: o.Workdir, From: o.From})
		target = "."
	} else {
		in, err = checkBuild(BuildOptions{Workdir: o.Workdir})
	}
	if err != nil {
		return nil, err
	}
	prefix := in.prefix
	if prefix == "" {
		prefix = PrefixOf(in.wd, in.sp.Mode)
		st, _ := ReadState(StatePathOf(in.wd, in.sp.Mode))
		if st == nil || st.State != StateReady || st.Prefix != prefix {
			ne := &NotReadyError{Workdir: in.wd, Mode: in.sp.Mode}
			if st != nil && st.State != StateReady {
				ne.State = st.State
			}
			return nil, ne
		}
	}
	m, err := s.Modes.Mode(ctx, in.sp.Mode)
	if err != nil {
		return nil, err
	}
	env := s.workdirModeEnv(in.wd, prefix, in.rs, mode.Python{Version: in.sp.Python})
	s.stage("lock", 0, 0)
	lock, err := m.Lock(ctx, mode.LockRequest{Env: env, Check: true}, s.Events)
	if err != nil {
		return nil, err
	}
	res := &LockResult{Mode: in.sp.Mode, Prefix: prefix, Python: lock.Python, Packages: len(lock.Packages), Files: lock.Files}
	if res.Files == nil {
		res.Files = []mode.LockFile{}
	}
	if o.Write {
		wd, err := absWorkdir(target)
		if err != nil {
			return nil, err
		}
		if _, err := writeLockFiles(wd, in.sp.Mode, lock); err != nil {
			return nil, err
		}
		res.Dir = LockDirOf(wd)
	}
	return res, nil
}
