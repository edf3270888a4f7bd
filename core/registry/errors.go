package registry

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
)

// NotFoundError says a runtime has no version for Ref (a tag, a digest or a
// prefix of one), or, with an empty Ref, that the project has no runtime
// Name. Existing lists up to 10 versions (or runtimes) that do exist, for the
// message. Removed is set when Ref names a removed version.
type NotFoundError struct {
	Kind     Kind // "" is a runtime
	Project  string
	Name     string
	Ref      string
	Existing []string
	Removed  bool
}

func (e *NotFoundError) Error() string {
	switch {
	case e.Ref == "":
		return fmt.Sprintf("project %s has no %s %s%s", e.Project, e.Kind.Noun(), e.Name, listSuffix(e.Kind.segment(), e.Existing))
	case e.Removed:
		return fmt.Sprintf("%s %s: version %s is removed; recover it to use it", e.Kind.Noun(), e.Name, e.Ref)
	}
	return fmt.Sprintf("%s %s has no version %s%s", e.Kind.Noun(), e.Name, e.Ref, listSuffix("versions", e.Existing))
}

func listSuffix(what string, items []string) string {
	if len(items) == 0 {
		return ""
	}
	return "; " + what + ": " + strings.Join(items, ", ")
}

// AmbiguousError says a version prefix matches more than one version.
type AmbiguousError struct {
	Kind       Kind // "" is a runtime
	Project    string
	Name       string
	Ref        string
	Candidates []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%s %s: version %s is ambiguous, it matches %s; give more characters",
		e.Kind.Noun(), e.Name, e.Ref, strings.Join(e.Candidates, ", "))
}

// ReservedTagError says a tag is one of the automatic ones (latest, v<N>),
// which users cannot set or remove.
type ReservedTagError struct{ Tag string }

func (e *ReservedTagError) Error() string {
	return fmt.Sprintf("tag %s is reserved: latest and v<N> are set automatically", e.Tag)
}

// TagExistsError says a tag is already on another version.
type TagExistsError struct {
	Project string
	Name    string
	Tag     string
	Version string // short digest of the version that has it
}

func (e *TagExistsError) Error() string {
	return fmt.Sprintf("runtime %s: tag %s is already on version %s; force to move it", e.Name, e.Tag, e.Version)
}

// TagNotFoundError says a runtime has no such tag.
type TagNotFoundError struct {
	Project  string
	Name     string
	Tag      string
	Existing []string // user tags of the runtime
}

func (e *TagNotFoundError) Error() string {
	return fmt.Sprintf("runtime %s has no tag %s%s", e.Name, e.Tag, listSuffix("tags", e.Existing))
}

// NotRemovedError says Recover was asked for a version that is not removed.
type NotRemovedError struct {
	Project string
	Name    string
	Ref     string
	Version string // short digest
}

func (e *NotRemovedError) Error() string {
	return fmt.Sprintf("runtime %s: version %s (%s) is not removed", e.Name, e.Ref, e.Version)
}

// InvalidNameError says a project, runtime name, tag, reference or digest
// cannot be used (it would not be a safe key, or breaks the tag rules).
type InvalidNameError struct {
	Kind   string // "project", "runtime name", "tag", "version", "digest"
	Value  string
	Reason string
}

func (e *InvalidNameError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Kind, e.Value, e.Reason)
}

// BlobUnknownError says a blob is not in the store.
type BlobUnknownError struct{ Digest digest.Digest }

func (e *BlobUnknownError) Error() string { return fmt.Sprintf("blob %s not found", e.Digest) }

// MissingBlobsError says a manifest references blobs that are not stored
// yet; a copy pushes them and tries again.
type MissingBlobsError struct{ Digests []digest.Digest }

func (e *MissingBlobsError) Error() string {
	ds := make([]string, 0, len(e.Digests))
	for i, d := range e.Digests {
		if i == 5 {
			ds = append(ds, fmt.Sprintf("and %d more", len(e.Digests)-5))
			break
		}
		ds = append(ds, d.String())
	}
	return fmt.Sprintf("manifest references %d missing blob(s): %s", len(e.Digests), strings.Join(ds, ", "))
}

// DigestMismatchError says content does not hash to the digest it was given
// under; nothing was stored.
type DigestMismatchError struct {
	Expected digest.Digest
	Actual   digest.Digest
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("digest mismatch: expected %s, content is %s", e.Expected, e.Actual)
}

// ManifestInvalidError says bytes given as a manifest are not a usable OCI
// image manifest.
type ManifestInvalidError struct{ Reason string }

func (e *ManifestInvalidError) Error() string { return "invalid manifest: " + e.Reason }
