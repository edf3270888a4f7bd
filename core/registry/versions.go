package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/ocilimits"
)

// Version is one version of a runtime: a manifest with its record and tags.
type Version struct {
	Project string        `json:"project"`
	Name    string        `json:"name"`
	Digest  digest.Digest `json:"digest"`
	// Short is the first 12 hex characters of the digest, as shown.
	Short string `json:"short"`
	// Number is N of the version's vN tag.
	Number int `json:"number"`
	// Tags: vN first, then latest, then user tags in order.
	Tags      []string  `json:"tags"`
	Created   time.Time `json:"created"`
	Size      int64     `json:"size"`
	Removed   bool      `json:"removed,omitempty"`
	RemovedAt time.Time `json:"removed_at,omitzero"`
}

// String gives the version as listed: "3f9a1c2b7d4e (v1, latest)".
func (v Version) String() string {
	if len(v.Tags) == 0 {
		return v.Short
	}
	return v.Short + " (" + strings.Join(v.Tags, ", ") + ")"
}

// RuntimeSummary is one runtime of a project, as listed.
type RuntimeSummary struct {
	Name string `json:"name"`
	// Versions counts the versions listed (removed ones only when asked).
	Versions int `json:"versions"`
	// Latest is the version tagged latest, or the newest listed one.
	Latest Version `json:"latest"`
}

type versionRecord struct {
	Digest    digest.Digest `json:"digest"`
	Number    int           `json:"number"`
	Created   time.Time     `json:"created"`
	Size      int64         `json:"size"`
	Removed   bool          `json:"removed,omitempty"`
	RemovedAt *time.Time    `json:"removed_at,omitempty"`
	// RemovedBy is the ID of the whole-runtime removal that put this
	// version in the trash ("" for a removal of this version alone), and
	// RecoveredFrom the ID of the removal a recover undid: a reader that
	// finishes that same removal late (it read the removal record before
	// the removal completed) leaves the recovered version alone.
	RemovedBy     string `json:"removed_by,omitempty"`
	RecoveredFrom string `json:"recovered_from,omitempty"`
	// MediaType of the manifest; "" is an OCI image manifest (PutVersion).
	MediaType string `json:"media_type,omitempty"`
}

type tagRecord struct {
	Digest digest.Digest `json:"digest"`
}

type counterRecord struct {
	Next int `json:"next"`
}

// MaxManifestSize is the largest manifest accepted (as in distribution), by
// PutVersion and PutManifest alike; the server's request limit reads it.
// It is the limit a bundle's reader applies too (internal/ocilimits).
const MaxManifestSize = ocilimits.MaxManifestSize

const maxManifestSize = MaxManifestSize

// PutVersion adds a version of runtime name from an OCI image manifest whose
// config and layers are already stored as blobs (else *MissingBlobsError).
// It stores the manifest as a blob, gives the version the next vN and writes
// its record, then moves latest to it and sets tags (user tags; a tag on
// another version moves, as docker build -t does).
//
// It is idempotent: the same manifest again gives the same version (same N,
// a removed one is recovered), and still moves latest and adds tags.
func (r *Registry) PutVersion(ctx context.Context, project, name string, manifest []byte, tags []string) (Version, error) {
	if err := checkNames(project, name); err != nil {
		return Version{}, err
	}
	if err := checkUserTags(tags); err != nil {
		return Version{}, err
	}
	m, err := parseManifest(manifest)
	if err != nil {
		return Version{}, err
	}
	size, err := r.checkReferences(ctx, m)
	if err != nil {
		return Version{}, err
	}
	size += int64(len(manifest))
	md := digest.SHA256.FromBytes(manifest)
	if _, err := r.PutBlob(ctx, bytes.NewReader(manifest), md); err != nil {
		return Version{}, err
	}

	// The blobs become readable through the repository (OCI pulls) before
	// the version exists.
	links := []digest.Digest{md}
	for _, d := range references(m) {
		links = append(links, d.Digest)
	}
	if err := r.linkBlobs(ctx, project, name, links); err != nil {
		return Version{}, err
	}
	rec, err := r.commitVersion(ctx, project, name, md, size, "", tags)
	if err != nil {
		return Version{}, err
	}
	return r.version(ctx, project, name, rec)
}

// addRecordType creates the record of version md, a manifest of mediaType
// ("" for an OCI image manifest), or finds (and if removed, recovers) the
// existing one.
func (r *Registry) addRecordType(ctx context.Context, project, name string, md digest.Digest, size int64, mediaType string) (rec versionRecord, created bool, err error) {
	vkey := r.versionKey(project, name, md)
	err = r.readJSON(ctx, vkey, &rec)
	if isNotFound(err) {
		n, err := r.nextNumber(ctx, project, name)
		if err != nil {
			return rec, false, err
		}
		// The vN tag goes first: until the record exists, it is ignored.
		ntag := r.tagKey(project, name, numberTag(n))
		if err := r.putJSON(ctx, ntag, tagRecord{Digest: md}, store.PutOptions{IfNoneMatch: true}); err != nil {
			return rec, false, fmt.Errorf("registry: runtime %s: tag %s: %w", name, numberTag(n), err)
		}
		rec = versionRecord{Digest: md, Number: n, Created: r.now(), Size: size, MediaType: mediaType}
		err = r.putJSON(ctx, vkey, rec, store.PutOptions{IfNoneMatch: true})
		if err == nil {
			return rec, true, nil
		}
		// Another writer added the same manifest first: use theirs.
		_ = r.s.Delete(ctx, ntag)
		if !isPrecondition(err) {
			return rec, false, fmt.Errorf("registry: runtime %s: write version: %w", name, err)
		}
		if err := r.readJSON(ctx, vkey, &rec); err != nil {
			return rec, false, fmt.Errorf("registry: runtime %s: read version: %w", name, err)
		}
	} else if err != nil {
		return rec, false, fmt.Errorf("registry: runtime %s: read version: %w", name, err)
	}
	if rec.Removed {
		if rec, err = r.setRemoved(ctx, project, name, md, false, ""); err != nil {
			return rec, false, err
		}
	}
	// Repair a vN tag lost to a crash (or a hard remove racing with us).
	err = r.moveTag(ctx, project, name, numberTag(rec.Number), func(cur tagRecord, exists bool) (digest.Digest, error) {
		return md, nil
	})
	return rec, false, err
}

// moveLatestTo moves latest to rec unless it points to a newer live version.
func (r *Registry) moveLatestTo(ctx context.Context, project, name string, rec versionRecord) error {
	return r.moveTag(ctx, project, name, latestTag, func(cur tagRecord, exists bool) (digest.Digest, error) {
		if !exists || cur.Digest == rec.Digest || checkDigest(cur.Digest) != nil {
			return rec.Digest, nil
		}
		var old versionRecord
		err := r.readJSON(ctx, r.versionKey(project, name, cur.Digest), &old)
		if isNotFound(err) || (err == nil && (old.Removed || old.Number < rec.Number)) {
			return rec.Digest, nil
		}
		return "", err
	})
}

// nextNumber takes the next N from the runtime's counter.
func (r *Registry) nextNumber(ctx context.Context, project, name string) (int, error) {
	key := r.counterKey(project, name)
	for attempt := 0; ; attempt++ {
		var c counterRecord
		etag, err := r.readJSONETag(ctx, key, &c)
		var n int
		switch {
		case isNotFound(err):
			// A new runtime (or a lost counter: never reuse a number seen).
			if n, err = r.maxNumber(ctx, project, name); err != nil {
				return 0, err
			}
			n++
			err = r.putJSON(ctx, key, counterRecord{Next: n + 1}, store.PutOptions{IfNoneMatch: true})
		case err == nil:
			n = c.Next
			err = r.putJSON(ctx, key, counterRecord{Next: n + 1}, store.PutOptions{IfMatch: etag})
		}
		if err == nil {
			return n, nil
		}
		if !isPrecondition(err) {
			return 0, fmt.Errorf("registry: runtime %s: counter: %w", name, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return 0, err
		}
	}
}

// maxNumber is the highest N of the runtime's records and vN tags, or -1.
func (r *Registry) maxNumber(ctx context.Context, project, name string) (int, error) {
	max := -1
	err := r.s.List(ctx, r.tagsPrefix(project, name)+"v", func(info store.Info) error {
		if n, ok := parseNumberTag(info.Key[strings.LastIndexByte(info.Key, '/')+1:]); ok && n > max {
			max = n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	st, err := r.loadRuntime(ctx, project, name)
	if err != nil {
		return 0, err
	}
	for _, rec := range st.records {
		if rec.Number > max {
			max = rec.Number
		}
	}
	return max, nil
}

// parseManifest reads an OCI image manifest by the rules every reader in
// swcli applies (internal/ocilimits).
func parseManifest(b []byte) (ocispec.Manifest, error) {
	m, err := ocilimits.ParseImageManifest(b)
	if err != nil {
		return ocispec.Manifest{}, &ManifestInvalidError{Reason: err.Error()}
	}
	return *m, nil
}

// references are the blobs a manifest needs: config, then layers.
func references(m ocispec.Manifest) []ocispec.Descriptor {
	return append([]ocispec.Descriptor{m.Config}, m.Layers...)
}

// checkReferences makes sure every blob m references is stored with the
// size m says, and returns the total size of the distinct blobs.
func (r *Registry) checkReferences(ctx context.Context, m ocispec.Manifest) (int64, error) {
	return checkSizes(ctx, references(m), r.BlobSize)
}

// checkSizes makes sure every blob of refs has the size refs says by
// sizeOf (which gives *BlobUnknownError for a missing one: all missing ones
// are reported in one *MissingBlobsError), and returns the total size of
// the distinct blobs.
func checkSizes(ctx context.Context, refs []ocispec.Descriptor, sizeOf func(context.Context, digest.Digest) (int64, error)) (int64, error) {
	sizes := make([]int64, len(refs))
	err := parallel(ctx, len(refs), func(ctx context.Context, i int) error {
		var err error
		sizes[i], err = sizeOf(ctx, refs[i].Digest)
		if _, ok := err.(*BlobUnknownError); ok {
			sizes[i], err = -1, nil
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	var (
		missing []digest.Digest
		total   int64
		seen    = map[digest.Digest]bool{}
	)
	for i, d := range refs {
		if seen[d.Digest] {
			continue
		}
		seen[d.Digest] = true
		switch {
		case sizes[i] < 0:
			missing = append(missing, d.Digest)
		case sizes[i] != d.Size:
			return 0, &ManifestInvalidError{Reason: fmt.Sprintf("blob %s is %d bytes, the manifest says %d", d.Digest, sizes[i], d.Size)}
		}
		total += d.Size
	}
	if len(missing) > 0 {
		return 0, &MissingBlobsError{Digests: missing}
	}
	return total, nil
}

// Manifest returns the manifest of v, checked against its digest.
func (r *Registry) Manifest(ctx context.Context, v Version) ([]byte, error) {
	rc, err := r.GetBlobRange(ctx, v.Digest, 0, -1) // the size is not needed: one request
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("registry: manifest %s: %w", v.Digest, err)
	}
	if actual := v.Digest.Algorithm().FromBytes(b); actual != v.Digest {
		return nil, &DigestMismatchError{Expected: v.Digest, Actual: actual}
	}
	return b, nil
}

// ResolveOption changes what Resolve accepts.
type ResolveOption func(*resolveOptions)

type resolveOptions struct{ includeRemoved bool }

// IncludeRemoved lets Resolve return removed versions too.
func IncludeRemoved() ResolveOption { return func(o *resolveOptions) { o.includeRemoved = true } }

type resolveMode int

const (
	modeLive    resolveMode = iota // versions not removed
	modeAll                        // any version
	modeRemoved                    // prefixes match removed versions only (Recover)
)

// Resolve finds the version ref names: a tag (latest, vN, a user tag), a full
// digest (hex or "sha256:hex") or a unique prefix of 4 or more hex
// characters. A tag wins over a digest prefix that reads the same. Errors:
// *NotFoundError (listing versions that exist), *AmbiguousError,
// *InvalidNameError. Removed versions do not resolve unless IncludeRemoved.
func (r *Registry) Resolve(ctx context.Context, project, name, ref string, opts ...ResolveOption) (Version, error) {
	var o resolveOptions
	for _, opt := range opts {
		opt(&o)
	}
	mode := modeLive
	if o.includeRemoved {
		mode = modeAll
	}
	rec, err := r.resolve(ctx, project, name, ref, mode)
	if err != nil {
		return Version{}, err
	}
	return r.version(ctx, project, name, rec)
}

func (r *Registry) resolve(ctx context.Context, project, name, ref string, mode resolveMode) (versionRecord, error) {
	if err := checkNames(project, name); err != nil {
		return versionRecord{}, err
	}
	if ref == "" {
		return versionRecord{}, &InvalidNameError{Kind: "version", Value: ref, Reason: "empty"}
	}
	if err := r.settle(ctx, project, name); err != nil {
		return versionRecord{}, err
	}
	removed := false // ref named a removed version that mode excludes
	if validTag(ref) {
		rec, ok, onRemoved, err := r.resolveTagMode(ctx, project, name, ref, mode)
		if err != nil || ok {
			return rec, err
		}
		removed = onRemoved
	}
	hex := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(ref, string(digest.SHA256)+":"), string(digest.SHA512)+":"))
	switch {
	case len(hex) >= 4 && len(hex) <= 128 && hexRE.MatchString(hex):
		recs, err := r.prefixRecords(ctx, project, name, hex)
		if err != nil {
			return versionRecord{}, err
		}
		var match, gone []versionRecord
		for _, rec := range recs {
			if rec.Removed {
				gone = append(gone, rec)
			} else {
				match = append(match, rec)
			}
		}
		switch {
		case mode == modeAll:
			match = recs
		case mode == modeRemoved && len(gone) > 0:
			match = gone // Recover: prefer the removed ones
		case mode == modeLive && len(match) == 0 && len(gone) > 0:
			removed = true
		}
		if len(match) == 1 {
			return match[0], nil
		}
		if len(match) > 1 {
			cands := make([]string, len(match))
			for i, rec := range match {
				cands[i] = shortHex(rec.Digest)
				if len(hex) >= 12 {
					cands[i] = rec.Digest.Encoded()
				}
			}
			sort.Strings(cands)
			return versionRecord{}, &AmbiguousError{Kind: r.kind, Project: project, Name: name, Ref: ref, Candidates: cands}
		}
	case !validTag(ref):
		return versionRecord{}, &InvalidNameError{Kind: "version", Value: ref,
			Reason: "not a tag, a digest, or a prefix of 4 or more hex characters"}
	}
	if removed {
		return versionRecord{}, &NotFoundError{Kind: r.kind, Project: project, Name: name, Ref: ref, Removed: true}
	}
	return versionRecord{}, r.notFound(ctx, project, name, ref)
}

// resolveTagMode follows tag to a version mode accepts (ok); a latest that
// points to nothing usable falls back to the newest live version.
// onRemoved reports a tag on a removed version that mode excludes.
func (r *Registry) resolveTagMode(ctx context.Context, project, name, tag string, mode resolveMode) (rec versionRecord, ok, onRemoved bool, err error) {
	rec, found, err := r.resolveTag(ctx, project, name, tag)
	if err != nil {
		return rec, false, false, err
	}
	if found && (mode != modeLive || !rec.Removed) {
		return rec, true, false, nil
	}
	if tag == latestTag {
		st, err := r.loadRuntime(ctx, project, name)
		if err != nil {
			return versionRecord{}, false, false, err
		}
		if d, ok := st.latest(); ok {
			return st.records[d], true, false, nil
		}
	}
	return versionRecord{}, false, found, nil
}

// resolveTag follows a tag to its record; found is false for a missing or
// dangling tag.
func (r *Registry) resolveTag(ctx context.Context, project, name, tag string) (rec versionRecord, found bool, err error) {
	var t tagRecord
	err = r.readJSON(ctx, r.tagKey(project, name, tag), &t)
	if isNotFound(err) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	if checkDigest(t.Digest) != nil {
		return rec, false, nil
	}
	err = r.readJSON(ctx, r.versionKey(project, name, t.Digest), &rec)
	if isNotFound(err) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	if n, ok := parseNumberTag(tag); ok && n != rec.Number {
		return rec, false, nil
	}
	return rec, true, nil
}

// prefixRecords reads the records whose digest starts with hex.
func (r *Registry) prefixRecords(ctx context.Context, project, name, hex string) ([]versionRecord, error) {
	if len(hex) == 64 || len(hex) == 128 {
		alg := digest.SHA256
		if len(hex) == 128 {
			alg = digest.SHA512
		}
		var rec versionRecord
		err := r.readJSON(ctx, r.versionKey(project, name, digest.NewDigestFromEncoded(alg, hex)), &rec)
		if isNotFound(err) {
			return nil, nil
		}
		return []versionRecord{rec}, err
	}
	var keys []string
	err := r.s.List(ctx, r.versionsPrefix(project, name)+hex, func(info store.Info) error {
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	recs := make([]versionRecord, len(keys))
	ok := make([]bool, len(keys))
	err = parallel(ctx, len(keys), func(ctx context.Context, i int) error {
		err := r.readJSON(ctx, keys[i], &recs[i])
		if isNotFound(err) {
			return nil
		}
		ok[i] = err == nil
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []versionRecord
	for i := range recs {
		if ok[i] {
			out = append(out, recs[i])
		}
	}
	return out, nil
}

// notFound builds the *NotFoundError for ref, listing what exists.
func (r *Registry) notFound(ctx context.Context, project, name, ref string) error {
	st, err := r.loadRuntime(ctx, project, name)
	if err != nil {
		return err
	}
	if len(st.records) == 0 {
		return r.runtimeNotFound(ctx, project, name)
	}
	var existing []string
	for _, v := range st.versions(false) {
		if len(existing) == 10 {
			existing = append(existing, "...")
			break
		}
		existing = append(existing, v.String())
	}
	return &NotFoundError{Kind: r.kind, Project: project, Name: name, Ref: ref, Existing: existing}
}

func (r *Registry) runtimeNotFound(ctx context.Context, project, name string) error {
	var names []string
	prefix := r.kindBase(project)
	err := r.s.List(ctx, prefix, func(info store.Info) error {
		parts := strings.Split(strings.TrimPrefix(info.Key, prefix), "/")
		if len(parts) == 3 && parts[1] == "versions" && (len(names) == 0 || names[len(names)-1] != parts[0]) {
			names = append(names, parts[0])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(names) > 10 {
		names = append(names[:10], "...")
	}
	return &NotFoundError{Kind: r.kind, Project: project, Name: name, Existing: names}
}

// version makes the Version of rec, with its tags.
func (r *Registry) version(ctx context.Context, project, name string, rec versionRecord) (Version, error) {
	tags, err := r.loadTags(ctx, project, name)
	if err != nil {
		return Version{}, err
	}
	names := []string{numberTag(rec.Number)}
	for t, d := range tags {
		if d == rec.Digest && (t != latestTag || !rec.Removed) {
			names = append(names, t)
		}
	}
	return makeVersion(project, name, rec, names), nil
}

func makeVersion(project, name string, rec versionRecord, tags []string) Version {
	sortTags(tags)
	if tags == nil {
		tags = []string{}
	}
	v := Version{
		Project: project, Name: name, Digest: rec.Digest, Short: shortHex(rec.Digest),
		Number: rec.Number, Tags: tags, Created: rec.Created, Size: rec.Size, Removed: rec.Removed,
	}
	if rec.RemovedAt != nil {
		v.RemovedAt = *rec.RemovedAt
	}
	return v
}

// sortTags: vN, latest, then user tags.
func sortTags(tags []string) {
	rank := func(t string) int {
		switch {
		case IsReservedTag(t) && t != latestTag:
			return 0
		case t == latestTag:
			return 1
		}
		return 2
	}
	sort.Slice(tags, func(i, j int) bool {
		ri, rj := rank(tags[i]), rank(tags[j])
		if ri != rj {
			return ri < rj
		}
		return tags[i] < tags[j]
	})
}

// ListVersions lists the versions of a runtime, newest (highest N) first,
// each with its tags; removed ones only with showRemoved. An unknown runtime
// gives *NotFoundError.
func (r *Registry) ListVersions(ctx context.Context, project, name string, showRemoved bool) ([]Version, error) {
	if err := checkNames(project, name); err != nil {
		return nil, err
	}
	st, err := r.loadRuntimeSettled(ctx, project, name)
	if err != nil {
		return nil, err
	}
	if len(st.records) == 0 {
		return nil, r.runtimeNotFound(ctx, project, name)
	}
	return st.versions(showRemoved), nil
}

// ListRuntimes lists the runtimes of a project that have versions to show,
// by name.
func (r *Registry) ListRuntimes(ctx context.Context, project string, showRemoved bool) ([]RuntimeSummary, error) {
	if err := checkSegment("project", project); err != nil {
		return nil, err
	}
	states, err := r.loadSettled(ctx, project, "")
	if err != nil {
		return nil, err
	}
	out := []RuntimeSummary{}
	for _, st := range states {
		vs := st.versions(showRemoved)
		if len(vs) == 0 {
			continue
		}
		sum := RuntimeSummary{Name: st.name, Versions: len(vs), Latest: vs[0]}
		for _, v := range vs {
			if v.hasTag(latestTag) {
				sum.Latest = v
				break
			}
		}
		out = append(out, sum)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (v Version) hasTag(tag string) bool {
	for _, t := range v.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// RuntimeNames lists the names of a project's runtimes from the store's
// keys alone, reading no record: fast enough for shell completion. A runtime
// whose versions are all removed is listed too.
func (r *Registry) RuntimeNames(ctx context.Context, project string) ([]string, error) {
	if err := checkSegment("project", project); err != nil {
		return nil, err
	}
	base := projectsPrefix + project + "/runtimes/"
	// one folder read for the names, then a listing that stops at the
	// first version of each, instead of listing every key of every runtime
	names, err := store.ChildrenOf(ctx, r.s, base)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, n := range names {
		has := false
		err := r.s.List(ctx, base+n+"/versions/", func(store.Info) error {
			has = true
			return errStopList
		})
		if err != nil && !errors.Is(err, errStopList) {
			return nil, err
		}
		if has {
			out = append(out, n)
		}
	}
	return out, nil
}

// errStopList ends a List early; it never leaves the registry.
var errStopList = errors.New("registry: stop listing")
