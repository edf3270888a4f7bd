package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/swcli/swcli/core/store"
)

// removal.go: removing every version of a runtime at once.
//
// A store has no transactions over several keys, so RemoveRuntime first
// writes what it is going to do, the removal record
// (projects/<p>/runtimes/<name>/removal: the versions and whether they go
// for good), and only then removes them one by one, oldest first, and
// deletes the record. The record is the commit point: once it exists, every
// operation of this package on the runtime (listing, resolving, tagging,
// adding a version, the OCI API) finishes the removal before it looks at
// the runtime (settle), so nobody sees some versions removed and others
// not, and a removal cut short by a crash, a kill or a failing store is
// finished by the next look or by running RemoveRuntime again. A removal
// that fails before its record is written changes nothing.

// removalLeaf is the last segment of the removal record's key.
const removalLeaf = "removal"

// removalRecord is a whole-runtime removal under way: the versions it
// removes as they were listed when it started (newest first; what
// RemoveRuntime returns, also when it finishes one cut short).
type removalRecord struct {
	// ID names this removal in the version records it trashes
	// (versionRecord.RemovedBy), so that a reader finishing it late leaves
	// a version recovered since alone.
	ID       string    `json:"id,omitempty"`
	Versions []Version `json:"versions"`
	Force    bool      `json:"force"`
}

// newRemovalID is a random ID for a removal record.
func newRemovalID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// RemoveRuntime removes every version of runtime name (Remove for each: to
// the trash, or with force for good, removed versions included) as one
// operation: from the moment it starts, no reader of the registry sees part
// of the versions removed, and if it is cut short, the next operation on the
// runtime, or RemoveRuntime again, finishes it. It returns the versions
// removed, newest first (*NotFoundError when there is none to remove).
func (r *Registry) RemoveRuntime(ctx context.Context, project, name string, force bool) ([]Version, error) {
	if err := checkNames(project, name); err != nil {
		return nil, err
	}
	// One cut short before: finish it (it may be this very command, run
	// again).
	var pending removalRecord
	err := r.readJSON(ctx, r.removalKey(project, name), &pending)
	switch {
	case err == nil:
		if err := r.finishRemoval(ctx, project, name, pending); err != nil {
			return nil, err
		}
		if pending.Force == force {
			return pending.Versions, nil
		}
	case !isNotFound(err):
		return nil, fmt.Errorf("registry: runtime %s: read removal: %w", name, err)
	}
	st, err := r.loadRuntime(ctx, project, name)
	if err != nil {
		return nil, err
	}
	rem := removalRecord{Versions: st.versions(force), Force: force}
	if len(rem.Versions) == 0 {
		return nil, r.runtimeNotFound(ctx, project, name)
	}
	if rem.ID, err = newRemovalID(); err != nil {
		return nil, fmt.Errorf("registry: runtime %s: removal id: %w", name, err)
	}
	if err := r.putJSON(ctx, r.removalKey(project, name), rem, store.PutOptions{IfNoneMatch: true}); err != nil {
		return nil, fmt.Errorf("registry: runtime %s: write removal: %w", name, err)
	}
	if err := r.finishRemoval(ctx, project, name, rem); err != nil {
		return nil, err
	}
	return rem.Versions, nil
}

// settle finishes the removal under way of runtime name, if there is one.
// Every operation of the registry on one runtime calls it first.
func (r *Registry) settle(ctx context.Context, project, name string) error {
	var rem removalRecord
	err := r.readJSON(ctx, r.removalKey(project, name), &rem)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("registry: runtime %s: read removal: %w", name, err)
	}
	return r.finishRemoval(ctx, project, name, rem)
}

// finishRemoval removes the versions of rem that are still there, oldest
// first (latest stays where it is until the newest goes), and then the
// removal record. Each step can be done again, also by a reader that read
// the record before the removal completed and finishes it late: a version
// pushed again since (a new number) or recovered from this removal since
// stays as it is.
func (r *Registry) finishRemoval(ctx context.Context, project, name string, rem removalRecord) error {
	for i := len(rem.Versions) - 1; i >= 0; i-- {
		d := rem.Versions[i].Digest
		if err := checkDigest(d); err != nil {
			continue
		}
		var rec versionRecord
		err := r.readJSON(ctx, r.versionKey(project, name, d), &rec)
		if isNotFound(err) {
			continue // removed for good already
		}
		if err != nil {
			return fmt.Errorf("registry: runtime %s: read version: %w", name, err)
		}
		if rec.Number != rem.Versions[i].Number || (rec.Removed && !rem.Force) {
			continue
		}
		if rem.ID != "" && rec.RecoveredFrom == rem.ID {
			continue
		}
		if err := r.removeRecord(ctx, project, name, rec, rem.Force, rem.ID); err != nil {
			return err
		}
	}
	if err := r.s.Delete(ctx, r.removalKey(project, name)); err != nil && !isNotFound(err) {
		return fmt.Errorf("registry: runtime %s: remove removal record: %w", name, err)
	}
	return nil
}

// loadSettled is load after finishing every removal under way that load
// found (runtimeState.removing).
func (r *Registry) loadSettled(ctx context.Context, project, name string) ([]*runtimeState, error) {
	states, err := r.load(ctx, project, name)
	if err != nil {
		return nil, err
	}
	again := false
	for _, st := range states {
		if st.removing {
			if err := r.settle(ctx, project, st.name); err != nil {
				return nil, err
			}
			again = true
		}
	}
	if again {
		return r.load(ctx, project, name)
	}
	return states, nil
}

// loadRuntimeSettled is loadRuntime after settle.
func (r *Registry) loadRuntimeSettled(ctx context.Context, project, name string) (*runtimeState, error) {
	return oneState(project, name)(r.loadSettled(ctx, project, name))
}
