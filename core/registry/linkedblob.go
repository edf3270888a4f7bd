package registry

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/store"
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

// BlobURL is a short-lived URL from which any HTTP client GETs blob d (a
// Range of it too), for a blob linked in project/name, when the store
// gives such URLs (store.RedirectURL: an S3 presigned GetObject); the
// server redirects a blob GET to it, so the bytes go from the service to
// the client without passing through the server. store.ErrNoURL when the
// store gives none; *BlobUnknownError when d is not linked there. One
// store request, the link's Stat (the URL is made without asking the
// service). The URL is a credential until it expires: never log it; no
// error returned here names it.
func (r *Registry) BlobURL(ctx context.Context, project, name string, d digest.Digest) (string, error) {
	if err := r.checkLinked(ctx, project, name, d); err != nil {
		return "", err
	}
	u, err := store.RedirectURL(ctx, r.s, blobKey(d))
	if err != nil && !errors.Is(err, store.ErrNoURL) {
		return "", fmt.Errorf("registry: blob %s: %w", d, err)
	}
	return u, err
}
