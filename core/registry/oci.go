package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/ocilimits"
)

// What the OCI distribution API needs beyond PutVersion: any manifest stored
// verbatim with its media type (image manifests with any artifactType or
// config type, image indexes, their Docker equivalents), per-repository blob
// links, the referrers index and the OCI view of tags.
//
// Keys (besides those in the package documentation):
//
//	blobs/sha512/<hex>                                      sha512 blobs
//	projects/<p>/runtimes/<name>/links/<alg>/<hex>          blob readable through this repository
//	projects/<p>/runtimes/<name>/referrers/<alg>/<hex>/<alg>-<hex>
//	                                                        descriptor of a manifest whose subject is <alg>:<hex>
//
// Tags of an OCI push: every new manifest is a version (it gets the next vN,
// latest moves to it, as a build does). A PUT by a user tag also sets that
// tag (moving it from another version, as OCI registries do); a PUT by
// latest is accepted (latest moves to the manifest); a PUT by vN is refused
// (*ReservedTagError): numbers are given, never chosen.

// Media types the registry understands as manifests.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// anyManifest is the union of the manifest forms: what the registry reads
// of them (the stored bytes are kept verbatim).
type anyManifest struct {
	SchemaVersion int                  `json:"schemaVersion"`
	MediaType     string               `json:"mediaType,omitempty"`
	ArtifactType  string               `json:"artifactType,omitempty"`
	Config        *ocispec.Descriptor  `json:"config,omitempty"`
	Layers        []ocispec.Descriptor `json:"layers,omitempty"`
	Manifests     []ocispec.Descriptor `json:"manifests,omitempty"`
	Subject       *ocispec.Descriptor  `json:"subject,omitempty"`
	Annotations   map[string]string    `json:"annotations,omitempty"`

	mediaType string // resolved: the body's, or the one given with it
}

func isIndexType(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == MediaTypeDockerManifestList
}

func isImageType(mt string) bool {
	return mt == ocispec.MediaTypeImageManifest || mt == MediaTypeDockerManifest
}

// parseAnyManifest reads b as a manifest of media type mt (the Content-Type
// it came with; "" when unknown). The body's mediaType wins when set; they
// must agree when both are set.
func parseAnyManifest(b []byte, mt string) (anyManifest, error) {
	var m anyManifest
	if err := ocilimits.CheckSize(len(b)); err != nil {
		return m, &ManifestInvalidError{Reason: err.Error()}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, &ManifestInvalidError{Reason: err.Error()}
	}
	if m.SchemaVersion != 2 {
		return m, &ManifestInvalidError{Reason: fmt.Sprintf("schemaVersion is %d, not 2", m.SchemaVersion)}
	}
	switch {
	case m.MediaType != "":
		m.mediaType = m.MediaType
	case isImageType(mt) || isIndexType(mt):
		m.mediaType = mt
	case m.Manifests != nil && m.Config == nil:
		m.mediaType = ocispec.MediaTypeImageIndex
	default:
		m.mediaType = ocispec.MediaTypeImageManifest
	}
	if !isImageType(m.mediaType) && !isIndexType(m.mediaType) {
		return m, &ManifestInvalidError{Reason: fmt.Sprintf("media type %s is not an image manifest or index", m.mediaType)}
	}
	if isImageType(mt) || isIndexType(mt) {
		if mt != m.mediaType {
			return m, &ManifestInvalidError{Reason: fmt.Sprintf("content type %s does not match the manifest's mediaType %s", mt, m.mediaType)}
		}
	}
	if isImageType(m.mediaType) && m.Config == nil {
		return m, &ManifestInvalidError{Reason: "image manifest without config"}
	}
	if isIndexType(m.mediaType) && (m.Config != nil || m.Layers != nil) {
		return m, &ManifestInvalidError{Reason: "index with config or layers"}
	}
	err := ocilimits.CheckCount("layers", len(m.Layers))
	if err == nil {
		err = ocilimits.CheckCount("manifests", len(m.Manifests))
	}
	if err != nil {
		return m, &ManifestInvalidError{Reason: err.Error()}
	}
	check := func(what string, d ocispec.Descriptor) bool {
		if e := ocilimits.CheckDescriptor(what, d); e != nil && err == nil {
			err = &ManifestInvalidError{Reason: e.Error()}
		}
		return err == nil
	}
	if m.Config != nil {
		check("config", *m.Config)
	}
	for i, d := range m.Layers {
		check(fmt.Sprintf("layer %d", i), d)
	}
	for i, d := range m.Manifests {
		check(fmt.Sprintf("manifest %d", i), d)
	}
	if m.Subject != nil {
		check("subject", *m.Subject)
	}
	return m, err
}

// blobs are the blobs an image manifest needs stored: its config and the
// layers that are distributable (a nondistributable or foreign layer is
// fetched from its URLs, never pushed).
func (m anyManifest) blobs() []ocispec.Descriptor {
	var out []ocispec.Descriptor
	if m.Config != nil {
		out = append(out, *m.Config)
	}
	for _, l := range m.Layers {
		if len(l.URLs) > 0 || strings.Contains(l.MediaType, "nondistributable") || strings.Contains(l.MediaType, "foreign") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// artifactType as the referrers API reports it: artifactType, else the
// config's media type for an image manifest.
func (m anyManifest) artifactType() string {
	if m.ArtifactType == "" && m.Config != nil {
		return m.Config.MediaType
	}
	return m.ArtifactType
}

func (r *Registry) linkKey(project, name string, d digest.Digest) string {
	return r.artifactPrefix(project, name) + "links/" + string(d.Algorithm()) + "/" + d.Encoded()
}

func (r *Registry) referrersPrefix(project, name string, subject digest.Digest) string {
	return r.artifactPrefix(project, name) + "referrers/" + string(subject.Algorithm()) + "/" + subject.Encoded() + "/"
}

// LinkBlob makes stored blob d readable through repository project/name (an
// upload or a mount there). A blob that is not stored gives
// *BlobUnknownError.
func (r *Registry) LinkBlob(ctx context.Context, project, name string, d digest.Digest) error {
	if err := checkNames(project, name); err != nil {
		return err
	}
	if _, err := r.BlobSize(ctx, d); err != nil {
		return err
	}
	return r.linkBlobs(ctx, project, name, []digest.Digest{d})
}

func (r *Registry) linkBlobs(ctx context.Context, project, name string, ds []digest.Digest) error {
	return parallel(ctx, len(ds), func(ctx context.Context, i int) error {
		if err := r.touch(ctx, ds[i]); err != nil {
			return err
		}
		return r.link(ctx, project, name, ds[i])
	})
}

// link writes the link of blob d in project/name, without leasing d: for
// a blob this call stored itself, younger than GC's grace period (others
// go through linkBlobs).
func (r *Registry) link(ctx context.Context, project, name string, d digest.Digest) error {
	key := r.linkKey(project, name, d)
	if _, err := r.s.Stat(ctx, key); err == nil {
		return nil
	}
	if err := store.Mark(ctx, r.s, key, []byte(markRecord)); err != nil {
		return fmt.Errorf("registry: link %s in %s/%s: %w", d, project, name, err)
	}
	return nil
}

// BlobLinked returns the size of blob d when it is readable through
// repository project/name, else *BlobUnknownError.
func (r *Registry) BlobLinked(ctx context.Context, project, name string, d digest.Digest) (int64, error) {
	if err := r.checkLinked(ctx, project, name, d); err != nil {
		return 0, err
	}
	return r.BlobSize(ctx, d)
}

// LeaseBlob says a client is about to reference blob d without uploading it
// (an OCI HEAD that finds it): GC on any server sharing the store keeps it
// for the lease TTL (see GC).
func (r *Registry) LeaseBlob(ctx context.Context, d digest.Digest) error {
	if err := checkDigest(d); err != nil {
		return err
	}
	return r.touch(ctx, d)
}

// UnlinkBlob makes blob d unreadable through project/name (an OCI blob
// DELETE); the blob itself, shared with other repositories, stays until GC
// finds nothing referencing it. An unlinked blob gives *BlobUnknownError.
func (r *Registry) UnlinkBlob(ctx context.Context, project, name string, d digest.Digest) error {
	if _, err := r.BlobLinked(ctx, project, name, d); err != nil {
		return err
	}
	return r.s.Delete(ctx, r.linkKey(project, name, d))
}

// Manifest is a stored manifest as the OCI API serves it.
type Manifest struct {
	Digest    digest.Digest
	MediaType string
	Body      []byte
	// Subject is the digest of the manifest's subject, "" without one.
	Subject digest.Digest
	// Tags: the user tags PutManifest set.
	Tags []string
}

// PutManifest stores body, of media type mediaType (the request's
// Content-Type), as a version of project/name, and sets ref when it is a tag
// (see the tag rules above; ref may also be the manifest's digest, which
// must match body hashed with its algorithm: *DigestMismatchError), and
// sets the user tags in also (the OCI "?tag=" parameters of a PUT by
// digest; vN refused, latest accepted). The
// config and layers of an image manifest must be readable through this
// repository and the manifests of an index must be versions of it, else
// *MissingBlobsError; the version becomes visible only after that check
// and after its manifest, its links and its referrers entry are stored.
func (r *Registry) PutManifest(ctx context.Context, project, name, ref, mediaType string, body []byte, also ...string) (Manifest, error) {
	if err := checkNames(project, name); err != nil {
		return Manifest{}, err
	}
	md := digest.SHA256.FromBytes(body)
	var tags []string
	for _, t := range also {
		if t == latestTag {
			continue // latest moves to every new manifest anyway
		}
		if err := checkUserTags([]string{t}); err != nil {
			return Manifest{}, err
		}
		tags = append(tags, t)
	}
	switch d := digest.Digest(ref); {
	case strings.Contains(ref, ":"):
		if err := checkDigest(d); err != nil {
			return Manifest{}, err
		}
		if md = d.Algorithm().FromBytes(body); md != d {
			return Manifest{}, &DigestMismatchError{Expected: d, Actual: md}
		}
	case ref == latestTag:
	default:
		if err := checkUserTags([]string{ref}); err != nil {
			return Manifest{}, err
		}
		tags = append(tags, ref)
	}
	m, err := parseAnyManifest(body, mediaType)
	if err != nil {
		return Manifest{}, err
	}
	size, err := r.checkRepoReferences(ctx, project, name, m)
	if err != nil {
		return Manifest{}, err
	}
	if _, err := r.PutBlob(ctx, bytes.NewReader(body), md); err != nil {
		return Manifest{}, err
	}
	if err := r.linkBlobs(ctx, project, name, []digest.Digest{md}); err != nil {
		return Manifest{}, err
	}
	out := Manifest{Digest: md, MediaType: m.mediaType, Body: body, Tags: tags}
	if m.Subject != nil {
		out.Subject = m.Subject.Digest
		desc := ocispec.Descriptor{MediaType: m.mediaType, ArtifactType: m.artifactType(),
			Digest: md, Size: int64(len(body)), Annotations: m.Annotations}
		key := r.referrersPrefix(project, name, m.Subject.Digest) + string(md.Algorithm()) + "-" + md.Encoded()
		if err := r.putJSON(ctx, key, desc, store.PutOptions{}); err != nil {
			return Manifest{}, fmt.Errorf("registry: referrers of %s: %w", m.Subject.Digest, err)
		}
	}
	mt := m.mediaType
	if mt == ocispec.MediaTypeImageManifest {
		mt = "" // the record's default, as PutVersion writes it
	}
	if _, err := r.commitVersion(ctx, project, name, md, size+int64(len(body)), mt, tags); err != nil {
		return Manifest{}, err
	}
	return out, nil
}

// checkRepoReferences makes sure what m references is in the repository:
// blobs linked with the size m says, child manifests as versions. It
// returns the total size of the distinct blobs.
func (r *Registry) checkRepoReferences(ctx context.Context, project, name string, m anyManifest) (int64, error) {
	total, err := checkSizes(ctx, m.blobs(), func(ctx context.Context, d digest.Digest) (int64, error) {
		return r.BlobLinked(ctx, project, name, d)
	})
	if err != nil {
		return 0, err
	}
	var missing []digest.Digest
	for _, c := range m.Manifests {
		live, err := r.isLive(ctx, project, name, c.Digest)
		if err != nil {
			return 0, err
		}
		if !live {
			missing = append(missing, c.Digest)
		}
	}
	if len(missing) > 0 {
		return 0, &MissingBlobsError{Digests: missing}
	}
	return total, nil
}

// commitVersion adds the record of manifest md (stored, references checked),
// moves latest and sets user tags (moving them from other versions), as
// PutVersion does.
func (r *Registry) commitVersion(ctx context.Context, project, name string, md digest.Digest, size int64, mediaType string, tags []string) (versionRecord, error) {
	// A removal of the whole runtime under way goes first: this version
	// comes after it, not undone by it.
	if err := r.settle(ctx, project, name); err != nil {
		return versionRecord{}, err
	}
	rec, created, err := r.addRecordType(ctx, project, name, md, size, mediaType)
	if err != nil {
		return rec, err
	}
	if created {
		// A new version: latest moves to it unless a concurrent build of a
		// newer one (higher N) got there first.
		err = r.moveLatestTo(ctx, project, name, rec)
	} else {
		// The same manifest again (a rebuild, a copy-in): latest moves to it.
		err = r.moveTag(ctx, project, name, latestTag, func(tagRecord, bool) (digest.Digest, error) { return md, nil })
	}
	if err != nil {
		return rec, err
	}
	for _, t := range tags {
		if err := r.setUserTag(ctx, project, name, t, md, true); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// GetManifest returns the manifest ref names in project/name: a tag
// (latest, vN, a user tag) or a full digest. Removed versions are not
// served. Unknown gives *NotFoundError.
func (r *Registry) GetManifest(ctx context.Context, project, name, ref string) (Manifest, error) {
	rec, err := r.ociResolve(ctx, project, name, ref)
	if err != nil {
		return Manifest{}, err
	}
	b, err := r.Manifest(ctx, Version{Digest: rec.Digest})
	if err != nil {
		return Manifest{}, err
	}
	mt := rec.MediaType
	if mt == "" {
		mt = ocispec.MediaTypeImageManifest
	}
	out := Manifest{Digest: rec.Digest, MediaType: mt, Body: b}
	if m, err := parseAnyManifest(b, mt); err == nil && m.Subject != nil {
		out.Subject = m.Subject.Digest
	}
	return out, nil
}

// ociResolve resolves a tag or a full digest, never a prefix (an OCI tag
// that looks like hex is a tag).
func (r *Registry) ociResolve(ctx context.Context, project, name, ref string) (versionRecord, error) {
	if err := checkNames(project, name); err != nil {
		return versionRecord{}, err
	}
	if err := r.settle(ctx, project, name); err != nil {
		return versionRecord{}, err
	}
	notFound := &NotFoundError{Kind: r.kind, Project: project, Name: name, Ref: ref}
	if strings.Contains(ref, ":") {
		d := digest.Digest(ref)
		if err := checkDigest(d); err != nil {
			return versionRecord{}, err
		}
		var rec versionRecord
		err := r.readJSON(ctx, r.versionKey(project, name, d), &rec)
		if isNotFound(err) || (err == nil && (rec.Removed || rec.Digest != d)) {
			return rec, notFound
		}
		return rec, err
	}
	if !validTag(ref) {
		return versionRecord{}, &InvalidNameError{Kind: "tag", Value: ref, Reason: "use up to 128 of A-Z a-z 0-9 . _ -, not starting with . or -"}
	}
	rec, ok, _, err := r.resolveTagMode(ctx, project, name, ref, modeLive)
	if err == nil && !ok {
		err = notFound
	}
	return rec, err
}

// DeleteManifest deletes the version with digest d (hard: its record and
// tags go, its blobs are freed by GC unless something else references
// them). Unknown gives *NotFoundError.
func (r *Registry) DeleteManifest(ctx context.Context, project, name string, d digest.Digest) error {
	rec, err := r.ociResolve(ctx, project, name, string(d))
	if err != nil {
		return err
	}
	return r.Remove(ctx, project, name, string(rec.Digest), true)
}

// DeleteTag removes a user tag. latest and vN are reserved
// (*ReservedTagError); a missing tag gives *TagNotFoundError.
func (r *Registry) DeleteTag(ctx context.Context, project, name, tag string) error {
	return r.Untag(ctx, project, name, []string{tag})
}

// OCITags lists the tags of project/name as OCI clients see them: latest,
// every vN and user tag of a live version, sorted. An empty repository
// gives an empty list.
func (r *Registry) OCITags(ctx context.Context, project, name string) ([]string, error) {
	if err := checkNames(project, name); err != nil {
		return nil, err
	}
	st, err := r.loadRuntimeSettled(ctx, project, name)
	if err != nil {
		return nil, err
	}
	tags := []string{}
	for _, v := range st.versions(false) {
		tags = append(tags, v.Tags...)
	}
	sort.Strings(tags)
	return tags, nil
}

// Referrers lists the descriptors of the live manifests of project/name
// whose subject is subject, those of artifactType only when it is not "".
func (r *Registry) Referrers(ctx context.Context, project, name string, subject digest.Digest, artifactType string) ([]ocispec.Descriptor, error) {
	if err := checkNames(project, name); err != nil {
		return nil, err
	}
	if err := checkDigest(subject); err != nil {
		return nil, err
	}
	var keys []string
	err := r.s.List(ctx, r.referrersPrefix(project, name, subject), func(info store.Info) error {
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	descs := make([]ocispec.Descriptor, len(keys))
	keep := make([]bool, len(keys))
	err = parallel(ctx, len(keys), func(ctx context.Context, i int) error {
		err := r.readJSON(ctx, keys[i], &descs[i])
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if artifactType != "" && descs[i].ArtifactType != artifactType {
			return nil
		}
		keep[i], err = r.isLive(ctx, project, name, descs[i].Digest)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := []ocispec.Descriptor{}
	for i := range descs {
		if keep[i] {
			out = append(out, descs[i])
		}
	}
	return out, nil
}
