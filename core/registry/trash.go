package registry

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/store"
)

// Remove removes the version ref names. Without force it goes to the trash:
// the record is marked removed and keeps its tags, so Recover brings it back
// as it was. With force (removed versions included) the record and its tags
// are deleted; its blobs are freed by GC. Either way, latest moves to the
// newest remaining version if it pointed to this one.
func (r *Registry) Remove(ctx context.Context, project, name, ref string, force bool) error {
	mode := modeLive
	if force {
		mode = modeAll
	}
	rec, err := r.resolve(ctx, project, name, ref, mode)
	if err != nil {
		return err
	}
	return r.removeRecord(ctx, project, name, rec, force, "")
}

// removeRecord removes the version of rec, as Remove says; by is the ID of
// the whole-runtime removal doing it, if one is (setRemoved). Doing it again
// changes nothing.
func (r *Registry) removeRecord(ctx context.Context, project, name string, rec versionRecord, force bool, by string) error {
	if !force {
		if _, err := r.setRemoved(ctx, project, name, rec.Digest, true, by); err != nil {
			return err
		}
		return r.moveLatestFrom(ctx, project, name, rec.Digest)
	}
	// latest first, so it never points to a deleted record while others
	// remain; then the record (the commit point); then its tags.
	if err := r.moveLatestFrom(ctx, project, name, rec.Digest); err != nil {
		return err
	}
	if err := r.s.Delete(ctx, r.versionKey(project, name, rec.Digest)); err != nil {
		return fmt.Errorf("registry: runtime %s: remove %s: %w", name, shortHex(rec.Digest), err)
	}
	if err := r.s.Delete(ctx, r.tagKey(project, name, numberTag(rec.Number))); err != nil {
		return fmt.Errorf("registry: runtime %s: remove tag %s: %w", name, numberTag(rec.Number), err)
	}
	tags, err := r.loadTags(ctx, project, name)
	if err != nil {
		return err
	}
	for t, d := range tags {
		if d != rec.Digest || t == latestTag {
			continue
		}
		if err := r.s.Delete(ctx, r.tagKey(project, name, t)); err != nil {
			return fmt.Errorf("registry: runtime %s: remove tag %s: %w", name, t, err)
		}
	}
	return nil
}

// Recover brings back a removed version, named by a tag, a digest or a
// prefix (removed versions are preferred when a prefix matches several). A
// version that is not removed gives *NotRemovedError. latest moves to it if
// it is newer than the version latest points to.
func (r *Registry) Recover(ctx context.Context, project, name, ref string) (Version, error) {
	rec, err := r.resolve(ctx, project, name, ref, modeRemoved)
	if err != nil {
		return Version{}, err
	}
	if !rec.Removed {
		return Version{}, &NotRemovedError{Project: project, Name: name, Ref: ref, Version: shortHex(rec.Digest)}
	}
	if rec, err = r.setRemoved(ctx, project, name, rec.Digest, false, ""); err != nil {
		return Version{}, err
	}
	if err := r.moveLatestTo(ctx, project, name, rec); err != nil {
		return Version{}, err
	}
	return r.version(ctx, project, name, rec)
}

// setRemoved marks version d removed or not, with a conditional put. by is
// the ID of the whole-runtime removal that removes it ("" otherwise); such a
// removal does nothing to a version that was recovered from it since
// (versionRecord.RecoveredFrom), so finishing a removal late never undoes a
// recover.
func (r *Registry) setRemoved(ctx context.Context, project, name string, d digest.Digest, removed bool, by string) (versionRecord, error) {
	key := r.versionKey(project, name, d)
	for attempt := 0; ; attempt++ {
		var rec versionRecord
		etag, err := r.readJSONETag(ctx, key, &rec)
		if isNotFound(err) {
			return rec, &NotFoundError{Kind: r.kind, Project: project, Name: name, Ref: shortHex(d)}
		}
		if err != nil {
			return rec, fmt.Errorf("registry: runtime %s: read version: %w", name, err)
		}
		if rec.Removed == removed || (by != "" && rec.RecoveredFrom == by) {
			return rec, nil
		}
		rec.Removed, rec.RemovedAt = removed, nil
		if removed {
			now := r.now()
			rec.RemovedAt, rec.RemovedBy, rec.RecoveredFrom = &now, by, ""
		} else {
			rec.RecoveredFrom, rec.RemovedBy = rec.RemovedBy, ""
		}
		err = r.putJSON(ctx, key, rec, store.PutOptions{IfMatch: etag})
		if err == nil {
			return rec, nil
		}
		if !isPrecondition(err) {
			return rec, fmt.Errorf("registry: runtime %s: write version: %w", name, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return rec, err
		}
	}
}

// moveLatestFrom moves latest, if it points to gone, to the newest other
// live version. With none left, latest stays (Resolve then finds nothing
// live behind it).
func (r *Registry) moveLatestFrom(ctx context.Context, project, name string, gone digest.Digest) error {
	return r.moveTag(ctx, project, name, latestTag, func(cur tagRecord, exists bool) (digest.Digest, error) {
		if !exists || cur.Digest != gone {
			return "", nil
		}
		st, err := r.loadRuntime(ctx, project, name)
		if err != nil {
			return "", err
		}
		d, _ := st.newest(gone)
		return d, nil
	})
}
