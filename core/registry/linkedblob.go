package registry

import (
	"context"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
)

// checkLinked says whether blob d is linked in project/name: nil, or
// *BlobUnknownError (one store request: the link's Stat).
func (r *Registry) checkLinked(ctx context.Context, project, name string, d digest.Digest) error {
	if err := checkNames(project, name); err != nil {
		return err
	}
	if err := checkDigest(d); err != nil {
		return err
	}
	_, err := r.s.Stat(ctx, r.linkKey(project, name, d))
	if isNotFound(err) {
		return &BlobUnknownError{Digest: d}
	}
	if err != nil {
		return fmt.Errorf("registry: blob %s: %w", d, err)
	}
	return nil
}

// OpenLinkedBlob opens blob d as read through project/name (an OCI blob
// GET without a Range), with its size: *BlobUnknownError when it is not
// linked there or not stored. Two store requests, the link's Stat and a
// Get that answers with the size (GetBlob), where BlobLinked and then a
// Get take three.
func (r *Registry) OpenLinkedBlob(ctx context.Context, project, name string, d digest.Digest) (io.ReadCloser, int64, error) {
	if err := r.checkLinked(ctx, project, name, d); err != nil {
		return nil, 0, err
	}
	return r.GetBlob(ctx, d)
}
