// Package instance owns the places runtime versions live and every operation
// on them: listing runtimes and versions, reading a version (its OCI manifest
// and runtime config), tagging, removing, recovering, garbage collection, and
// copying a version between any two places. It also owns where the local
// instance keeps its files (the storage root) and the CLI config file (the
// instances the user knows by alias).
//
// An Instance is one place with projects of runtimes: today the local
// (standalone) instance, a registry over the filesystem store; next a cloud
// instance (a swcli server: OCI distribution API at /v2/, JSON API at
// /api/v1/) or any OCI registry. A .swrt bundle file is a Place too (one
// version, no projects): copy reads from and writes to it through the same
// blob and manifest surface, so `runtime copy` has one code path.
//
// The CLI opens places with an Opener from a core/uri URI and never learns
// which kind it talks to. The package knows OCI manifests (core/bundle parses
// them) but not the runtime manifest inside the config blob (core/workflow
// owns that): callers that need it pass Opener.ReadConfig.
//
// # Errors
//
// Implementations report these typed errors from core/registry, whatever
// their transport (a cloud client maps HTTP statuses and OCI error codes onto
// them), so the CLI renders every instance's failures the same way:
//
//   - *registry.NotFoundError: no such runtime (Ref empty) or version/tag;
//     Removed set when the version is in the trash.
//   - *registry.AmbiguousError: a version prefix matches several versions.
//   - *registry.TagExistsError: a tag is on another version and force is off.
//   - *registry.TagNotFoundError, *registry.ReservedTagError,
//     *registry.NotRemovedError, *registry.InvalidNameError.
//   - *registry.BlobUnknownError: Stat or Get of a blob that is not there.
//   - *registry.DigestMismatchError: a committed blob does not hash to its
//     descriptor; nothing was stored.
//   - *registry.MissingBlobsError: PutManifest of a manifest whose blobs are
//     not all stored.
//   - *UnsupportedError: the place cannot do this operation (a bundle file has
//     no tags and no trash).
//   - *UnavailableError: the URI names a kind of instance this build cannot
//     talk to yet (cloud, OCI registry).
//
// Any other error is a transport or storage failure, wrapped with the place
// it came from.
package instance

import (
	"context"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/uri"
)

// Ref names a runtime, or one version of it, in a project of a place.
// Version is a tag, a full digest ("sha256:<hex>"), or a hex prefix of 4 or
// more characters; empty means "latest" where one version is needed and
// "every version" for Remove. Project empty means DefaultProject.
type Ref struct {
	Project string
	Name    string
	Version string
}

// RefOf is the Ref a parsed URI names (its instance aside).
func RefOf(u uri.URI) Ref { return Ref{Project: u.Project, Name: u.Name, Version: u.Version} }

// Version and RuntimeSummary are the registry's: every place describes
// versions the same way (digest, short, vN number, tags, created, size,
// removed).
type (
	Version        = registry.Version
	RuntimeSummary = registry.RuntimeSummary
	GCStats        = registry.GCStats
)

// Blobs is content-addressed storage: layers, configs and manifests by
// digest.
//
//   - Stat returns the size of blob d, or *registry.BlobUnknownError.
//   - Get streams blob d from byte offset (0 for all of it; a resumed
//     download passes what it already has). An unknown blob gives
//     *registry.BlobUnknownError; an offset past the end an error.
//   - Writer starts (or resumes) writing the blob desc names. See BlobWriter.
//     A blob that is already stored may still be written; Commit then
//     succeeds without storing it twice.
type Blobs interface {
	Stat(ctx context.Context, d digest.Digest) (int64, error)
	Get(ctx context.Context, d digest.Digest, offset int64) (io.ReadCloser, error)
	Writer(ctx context.Context, desc ocispec.Descriptor) (BlobWriter, error)
}

// BlobWriter receives one blob. Offset is how many bytes of it the place
// already holds from an earlier, interrupted write (0 when it keeps none, or
// cannot resume): the caller writes the rest, from byte Offset() on. Commit
// checks the whole content hashes to the descriptor's digest and has its
// size, and only then makes the blob visible (*registry.DigestMismatchError
// otherwise, and the partial content is dropped). Close without Commit keeps
// what was written for a later resume where the place can; Close after
// Commit is a no-op. Close must always be called.
type BlobWriter interface {
	io.Writer
	Offset() int64
	Commit(ctx context.Context) error
	Close() error
}

// Place is where copy reads a version from and writes one to: blobs plus the
// manifests that make versions of them.
//
//   - Resolve finds the version ref names (live versions only unless
//     includeRemoved). A bundle file resolves its one version for any
//     Version that names it (empty, latest, its digest or a prefix).
//   - Manifest returns the OCI manifest bytes of version v, exactly as
//     stored (their sha256 is v.Digest).
//   - PrepareWrite says, before any blob moves, whether a version of to.Name
//     can be written in to.Project (valid names; a bundle file that exists is
//     refused unless overwrite).
//   - PutManifest adds manifest as a version of runtime name in project,
//     once every blob it references is stored (else
//     *registry.MissingBlobsError): a new version gets the next vN of that
//     place; latest moves to it; tags are set on it, moved from another
//     version if they were there. The same manifest again gives the same
//     version. A bundle file writes itself here, atomically, and rejects tags.
//   - Tag adds user tags to a version; a tag on another version moves only
//     with force, else *registry.TagExistsError before any tag changes. It
//     returns the version with its tags after the change.
//   - Close frees what the place holds (temporary files, connections).
type Place interface {
	Blobs
	Resolve(ctx context.Context, ref Ref, includeRemoved bool) (Version, error)
	Manifest(ctx context.Context, v Version) ([]byte, error)
	PrepareWrite(ctx context.Context, to Ref, overwrite bool) error
	PutManifest(ctx context.Context, project, name string, manifest []byte, tags []string) (Version, error)
	Tag(ctx context.Context, ref Ref, tags []string, force bool) (Version, error)
	Close() error
}

// Instance is a place with projects of runtimes: everything the CLI does to
// stored versions.
//
//   - Name is how the instance is written in URIs ("local", an alias, a
//     URL; a bundle file's path).
//   - URI is how version v of this instance is written (print it with
//     uri.URI.String()).
//   - ListRuntimes lists the runtimes of a project, with their latest
//     version and number of versions; a project with none gives an empty list.
//   - ListVersions lists a runtime's versions, newest first
//     (*registry.NotFoundError with empty Ref when the runtime has none).
//   - Untag removes user tags (*registry.TagNotFoundError, checked for
//     every tag before any is removed) and returns the version of ref after.
//   - Remove moves the version ref names to the trash, or with force deletes
//     it for good (removed versions included). With ref.Version empty it
//     removes every version of the runtime: every version is resolved first,
//     so a bad name changes nothing. It returns what it removed.
//   - Recover brings back a removed version (*registry.NotRemovedError when
//     it is not removed); latest moves to it when it is newer.
//   - GC frees blobs no version references, keeping those younger than
//     grace (a concurrent build may be about to reference them).
type Instance interface {
	Place
	Name() string
	URI(v Version) uri.URI
	ListRuntimes(ctx context.Context, project string, showRemoved bool) ([]RuntimeSummary, error)
	ListVersions(ctx context.Context, project, name string, showRemoved bool) ([]Version, error)
	Untag(ctx context.Context, ref Ref, tags []string) (Version, error)
	Remove(ctx context.Context, ref Ref, force bool) ([]Version, error)
	Recover(ctx context.Context, ref Ref) (Version, error)
	GC(ctx context.Context, o GCOptions) (GCStats, error)
}

// GCOptions tune GC.
type GCOptions struct {
	// Grace keeps unreferenced blobs younger than this (0 keeps none; the
	// CLI's default is registry.DefaultGracePeriod).
	Grace time.Duration
	// DryRun only counts what would be freed.
	DryRun bool
}
