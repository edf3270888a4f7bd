package workflow

import (
	"context"
	"fmt"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/spec"
)

// Building with the environment lock disabled (`runtime build
// -del/--disable-env-lock`, as Starwhale spells it) takes the spec's pins as
// they are: the requirement files, conda files and pip:/conda: lists of
// runtime.yaml, as written, are the bundle's lock. What that means, once:
//
//   - build: the environment is made and checked (pip check) as always, and
//     its env layers are packed as always; but no lock files are written or
//     stored (LockFiles is empty) and the manifest says LockDisabled. Its
//     Lock still lists what the env layers hold, so a restore of the layers
//     is verified against it, and diff and info show it.
//   - restore from the layers: as for any bundle, verified against Lock.
//   - restore --from-lock, and any restore of a --lock-only bundle: the
//     environment is made from the spec as written, as `runtime create`
//     makes it (the snapshot's requirement files and wheels), and checked
//     by the mode (pip check) instead of compared with Lock: what the
//     spec's loose pins resolve to today may differ from what they resolved
//     to at build time, which is what the user asked for.
//   - an existing environment (-v, -c, -cp, -s) has no spec but the one
//     generated from it, which pins nothing: -del is refused there.

// RestorePathSpec is RestoreResult.Path when the environment was made from
// the spec as written (a LockDisabled bundle restored --from-lock).
const RestorePathSpec = "spec"

// lockFilesOf writes the mode's lock files for the snapshot, or none when
// the lock is disabled.
func lockFilesOf(wd, modeName string, lock mode.Lock, disabled bool) ([]string, error) {
	if disabled {
		return nil, nil
	}
	return writeLockFiles(wd, modeName, lock)
}

// installSpec makes the environment of a restored snapshot from its spec as
// written: the same create and install calls `runtime create` makes.
func (s *Service) installSpec(ctx context.Context, m mode.Mode, dir, prefix string, sp *spec.Spec, rm *Manifest) error {
	rs, err := sp.Resolve(dir)
	if err != nil {
		return err
	}
	env := s.withCaches(EnvFor(dir, prefix, rs, mode.Python{Version: rm.PythonVersion}))
	return s.makeEnv(ctx, m, env, rs.Dependencies)
}

// verifyRestored checks a restored environment: it holds exactly the lock,
// or, made from the spec as written, it passes the mode's check.
func (s *Service) verifyRestored(ctx context.Context, m mode.Mode, env mode.Env, rm *Manifest, path string) error {
	s.stage("verify", 0, 0)
	fromSpec := path == RestorePathSpec
	got, err := m.Lock(ctx, mode.LockRequest{Env: env, Check: fromSpec}, s.Events)
	if err != nil {
		return err
	}
	if fromSpec {
		return nil
	}
	if diff := lockDiff(rm.Lock, got.Packages); diff != "" {
		return fmt.Errorf("restored environment of %s does not match its lock: %s", rm.Name, diff)
	}
	return nil
}
