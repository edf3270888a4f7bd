package registry

import (
	"context"
	"fmt"
	"sort"

	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/store"
)

// moveTag points tag at the digest decide returns ("" leaves it alone),
// creating it with IfNoneMatch or replacing it with IfMatch, and retries
// when another writer changed it in between.
func (r *Registry) moveTag(ctx context.Context, project, name, tag string,
	decide func(cur tagRecord, exists bool) (digest.Digest, error)) error {
	key := r.tagKey(project, name, tag)
	for attempt := 0; ; attempt++ {
		var cur tagRecord
		etag, err := r.readJSONETag(ctx, key, &cur)
		exists := err == nil
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("registry: runtime %s: tag %s: %w", name, tag, err)
		}
		target, err := decide(cur, exists)
		if err != nil {
			return err
		}
		if target == "" || (exists && cur.Digest == target) {
			return nil
		}
		opts := store.PutOptions{IfNoneMatch: true}
		if exists {
			opts = store.PutOptions{IfMatch: etag}
		}
		err = r.putJSON(ctx, key, tagRecord{Digest: target}, opts)
		if err == nil {
			return nil
		}
		if !isPrecondition(err) {
			return fmt.Errorf("registry: runtime %s: tag %s: %w", name, tag, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// setUserTag points a user tag at d. Without force, a tag on another live
// version gives *TagExistsError; a tag on a removed or deleted version is
// taken over.
func (r *Registry) setUserTag(ctx context.Context, project, name, tag string, d digest.Digest, force bool) error {
	return r.moveTag(ctx, project, name, tag, func(cur tagRecord, exists bool) (digest.Digest, error) {
		if !exists || cur.Digest == d || force {
			return d, nil
		}
		live, err := r.isLive(ctx, project, name, cur.Digest)
		if err != nil {
			return "", err
		}
		if live {
			return "", &TagExistsError{Project: project, Name: name, Tag: tag, Version: shortHex(cur.Digest)}
		}
		return d, nil
	})
}

// isLive reports whether version d exists and is not removed.
func (r *Registry) isLive(ctx context.Context, project, name string, d digest.Digest) (bool, error) {
	if checkDigest(d) != nil {
		return false, nil
	}
	var rec versionRecord
	err := r.readJSON(ctx, r.versionKey(project, name, d), &rec)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil && !rec.Removed, err
}

// Tag adds user tags to the version ref names. latest and vN are reserved
// (*ReservedTagError). A tag already on another version is moved only with
// force, else *TagExistsError (checked for every tag before any is set).
// Each tag is its own key: concurrent taggers lose nothing.
func (r *Registry) Tag(ctx context.Context, project, name, ref string, tags []string, force bool) error {
	if err := checkUserTags(tags); err != nil {
		return err
	}
	rec, err := r.resolve(ctx, project, name, ref, modeLive)
	if err != nil {
		return err
	}
	if !force {
		for _, t := range tags {
			var cur tagRecord
			err := r.readJSON(ctx, r.tagKey(project, name, t), &cur)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if cur.Digest == rec.Digest {
				continue
			}
			if live, err := r.isLive(ctx, project, name, cur.Digest); err != nil {
				return err
			} else if live {
				return &TagExistsError{Project: project, Name: name, Tag: t, Version: shortHex(cur.Digest)}
			}
		}
	}
	for _, t := range tags {
		if err := r.setUserTag(ctx, project, name, t, rec.Digest, force); err != nil {
			return err
		}
	}
	return nil
}

// Untag removes user tags; latest and vN cannot be removed
// (*ReservedTagError), a missing tag gives *TagNotFoundError (checked for
// every tag before any is removed).
func (r *Registry) Untag(ctx context.Context, project, name string, tags []string) error {
	if err := checkNames(project, name); err != nil {
		return err
	}
	if err := checkUserTags(tags); err != nil {
		return err
	}
	for _, t := range tags {
		_, err := r.s.Stat(ctx, r.tagKey(project, name, t))
		if isNotFound(err) {
			all, lerr := r.loadTags(ctx, project, name)
			if lerr != nil {
				return lerr
			}
			var user []string
			for u := range all {
				if !IsReservedTag(u) {
					user = append(user, u)
				}
			}
			sort.Strings(user)
			return &TagNotFoundError{Project: project, Name: name, Tag: t, Existing: user}
		}
		if err != nil {
			return err
		}
	}
	for _, t := range tags {
		if err := r.s.Delete(ctx, r.tagKey(project, name, t)); err != nil {
			return fmt.Errorf("registry: runtime %s: untag %s: %w", name, t, err)
		}
	}
	return nil
}
