// Package remote owns the instances swcli reaches over the network: a cloud
// instance (a swcli server: the OCI distribution API at /v2/ and its JSON
// API at /api/v1/) and any OCI registry (oci://host[:port]). Both are an
// instance.Instance, so list, info, history, tag, remove, recover and copy
// work on them through core/instance's one code path.
//
// The OCI protocol, auth challenges and Docker credentials are oras-go v2's
// (registry/remote, auth, credentials); this package adds what oras lacks:
// a blob upload that resumes inside the blob after the client restarts
// (upload.go), the swcli server's JSON API (api.go), and the mapping of HTTP
// and OCI errors onto core/registry's typed errors (errors.go).
//
// A runtime NAME of project P is the repository P/runtime/NAME on both
// kinds. An OCI namespace instance (uri.OCINamespace: oci://host/NS/, from
// a URI oci://host/NS/NAME[:TAG]) has no projects: its runtime NAME is the
// repository NS/NAME, and a tag named at the destination of a copy is the
// one the pushed version gets (instead of the next vN). A Place's blob operations (Stat, Get, Writer) act on the
// repository of the last Resolve (a source) or PrepareWrite (a
// destination), which is how instance.Copy uses a place.
package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/uri"
)

// Instance is a cloud instance or an OCI registry.
type Instance struct {
	name      string // as URIs write it: an alias, http(s)://..., oci://...
	host      string // host[:port] of /v2/
	base      string // scheme://host[:port]
	plainHTTP bool
	api       *Client // the JSON API; nil for an OCI registry
	client    *auth.Client
	stateDir  string // upload sessions (see upload.go)
	// flat: an OCI namespace instance; runtime NAME is repository ns/NAME
	// (NAME when ns is "").
	flat bool
	ns   string

	project, rtName string // the repository blob operations act on
	// pushTag and overwrite are the destination's tag and --force of the
	// last PrepareWrite (see PutManifest).
	pushTag   string
	overwrite bool
}

var _ instance.Instance = (*Instance)(nil)

// Open is instance.Opener's Remote: the instance name names (an alias of
// known, http(s)://host[:port] or oci://host[:port]), keeping upload
// sessions under storageRoot. known is the CLI config's entry for it (nil
// when the user never logged in: anonymous for a cloud URL, the Docker
// config's credentials for an OCI registry).
func Open(_ context.Context, name string, known *instance.Known, storageRoot string) (instance.Instance, error) {
	raw := name
	if known != nil {
		raw = known.URI
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("instance %s: %q is not a URL; allowed: http(s)://host[:port], oci://host[:port]", name, raw)
	}
	in := &Instance{name: name, host: u.Host, stateDir: filepath.Join(storageRoot, "uploads")}
	// Keep a connection for each blob moving at once (the default keeps 2
	// idle per host, so the others would dial again for every request).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * blobConcurrency
	hc := &http.Client{Transport: tr, CheckRedirect: DropCredentialsOnRedirect}
	switch u.Scheme {
	case "http", "https":
		in.base = u.Scheme + "://" + u.Host
		in.plainHTTP = u.Scheme == "http"
		in.api = &Client{Base: in.base, Name: name, HTTP: hc}
		cred := auth.EmptyCredential
		if known != nil && known.Token != "" {
			in.api.Token = known.Token
			// The server takes a token as the Basic password, as GHCR does.
			cred = auth.Credential{Username: "swcli", Password: known.Token}
		}
		in.client = &auth.Client{Client: hc, Cache: auth.NewCache(), Credential: auth.StaticCredential(u.Host, cred)}
	case "oci":
		// Loopback registries are plain HTTP (as `oras --plain-http` for a
		// local registry); any other host is HTTPS.
		if _, ns, ok := uri.SplitOCINamespace(raw); ok {
			in.flat, in.ns = true, ns
		}
		in.plainHTTP = isLoopback(u.Hostname())
		in.base = "https://" + u.Host
		if in.plainHTTP {
			in.base = "http://" + u.Host
		}
		store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
		if err != nil {
			return nil, fmt.Errorf("instance %s: read the Docker credentials: %w", name, err)
		}
		in.client = &auth.Client{Client: hc, Cache: auth.NewCache(), Credential: credentials.Credential(store)}
	default:
		return nil, fmt.Errorf("instance %s: scheme %q is not supported; allowed: http(s)://host[:port], oci://host[:port]", name, u.Scheme)
	}
	in.client.SetUserAgent("swcli")
	return in, nil
}

// DropCredentialsOnRedirect is the http.Client CheckRedirect of every
// swcli client of a registry: it follows up to 10 redirects, as net/http
// does, and sends no Authorization to another host:port than the one
// the request went to: a swcli server on S3 redirects a blob GET to a
// presigned URL of the bucket, which must not receive the token. (net/http
// drops it only when the host name changes, so a bucket on the same host
// at another port would get it.)
func DropCredentialsOnRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		req.Header.Del("Authorization")
	}
	return nil
}

func isLoopback(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || strings.HasPrefix(h, "127.")
}

// API is the JSON API client of a cloud instance (nil for an OCI registry).
func (in *Instance) API() *Client { return in.api }

func (in *Instance) Name() string { return in.name }
func (in *Instance) Close() error { return nil }

func (in *Instance) URI(v instance.Version) uri.URI {
	ver := v.Short
	if ver == "" {
		ver = string(v.Digest)
	}
	if in.flat {
		return uri.URI{Instance: in.name, Repository: in.repoPath(v.Project, v.Name), Project: v.Project, Name: v.Name, Version: string(v.Digest)}
	}
	return uri.URI{Instance: in.name, Project: v.Project, Name: v.Name, Version: ver}
}

func project(p string) string {
	if p == "" {
		return instance.DefaultProject
	}
	return p
}

// repoPath is the repository of runtime name in project.
func (in *Instance) repoPath(project, name string) string {
	switch {
	case !in.flat:
		return project + "/runtime/" + name
	case in.ns == "":
		return name
	}
	return in.ns + "/" + name
}

// repo is the oras repository of runtime name in project.
func (in *Instance) repo(project, name string) (*remote.Repository, error) {
	r, err := remote.NewRepository(in.host + "/" + in.repoPath(project, name))
	if err != nil {
		return nil, &registry.InvalidNameError{Kind: "runtime name", Value: name, Reason: err.Error()}
	}
	r.Client = in.client
	r.PlainHTTP = in.plainHTTP
	// swcli manifests have no subject; never let oras rewrite referrers.
	_ = r.SetReferrersCapability(true)
	return r, nil
}

// current is the repository blob operations act on.
func (in *Instance) current() (*remote.Repository, error) {
	if in.rtName == "" {
		return nil, fmt.Errorf("instance %s: no runtime chosen (resolve a version or prepare a write first)", in.name)
	}
	return in.repo(in.project, in.rtName)
}

func (in *Instance) bind(project, name string) { in.project, in.rtName = project, name }

// --- Blobs ---

func (in *Instance) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	r, err := in.current()
	if err != nil {
		return 0, err
	}
	desc, err := r.Blobs().Resolve(ctx, d.String())
	if err != nil {
		return 0, in.blobErr(err, d)
	}
	return desc.Size, nil
}

// Get reads blob d from offset on: one GET whose headers describe the
// blob (oras checks its digest against the one asked for), or from an
// offset one ranged GET (getFrom).
func (in *Instance) Get(ctx context.Context, d digest.Digest, offset int64) (io.ReadCloser, error) {
	r, err := in.current()
	if err != nil {
		return nil, err
	}
	if offset == 0 {
		desc, rc, err := r.Blobs().FetchReference(ctx, d.String())
		if err != nil {
			return nil, in.blobErr(err, d)
		}
		if p := progressOf(ctx); p != nil {
			rc = &progressReader{ReadCloser: rc, p: p, d: d, size: desc.Size}
		}
		return rc, nil
	}
	return in.getFrom(ctx, d, offset)
}

// --- Place ---

func (in *Instance) Resolve(ctx context.Context, ref instance.Ref, includeRemoved bool) (instance.Version, error) {
	p, ver := project(ref.Project), ref.Version
	if ver == "" {
		ver = "latest"
	}
	in.bind(p, ref.Name)
	if in.api != nil {
		var v instance.Version
		err := in.api.Do(ctx, "GET", in.versionPath(p, ref.Name, ver)+removedQuery(includeRemoved), nil, &v)
		return v, in.apiErr(err, p, ref.Name, ver, nil)
	}
	vs, err := in.ociVersions(ctx, p, ref.Name)
	if err != nil {
		return instance.Version{}, err
	}
	for _, v := range vs {
		if string(v.Digest) == ver || slices.Contains(v.Tags, ver) || (len(ver) >= 4 && strings.HasPrefix(v.Digest.Encoded(), ver)) {
			return v, nil
		}
	}
	// An untagged manifest named by its digest.
	if dg, err := digest.Parse(ver); err == nil {
		r, err := in.repo(p, ref.Name)
		if err != nil {
			return instance.Version{}, err
		}
		desc, err := r.Manifests().Resolve(ctx, dg.String())
		if err == nil {
			return ociVersion(p, ref.Name, desc.Digest, nil), nil
		}
	}
	return instance.Version{}, in.notFound(p, ref.Name, ver)
}

func (in *Instance) versionPath(project, name, ver string) string {
	return "/projects/" + esc(project) + "/runtimes/" + esc(name) + "/versions/" + esc(ver)
}

func removedQuery(b bool) string {
	if b {
		return "?removed=true"
	}
	return ""
}

func (in *Instance) Manifest(ctx context.Context, v instance.Version) ([]byte, error) {
	r, err := in.repo(project(v.Project), v.Name)
	if err != nil {
		return nil, err
	}
	_, rc, err := r.Manifests().FetchReference(ctx, v.Digest.String())
	if err != nil {
		return nil, in.ociErr(err, v.Project, v.Name, string(v.Digest))
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, 4<<20))
	if err != nil {
		return nil, in.wrap(err)
	}
	if got := digest.FromBytes(raw); got != v.Digest {
		return nil, &registry.DigestMismatchError{Expected: v.Digest, Actual: got}
	}
	return raw, nil
}

func (in *Instance) PrepareWrite(ctx context.Context, to instance.Ref, overwrite bool) error {
	p := project(to.Project)
	if err := registry.CheckNames(p, to.Name); err != nil {
		return err
	}
	in.bind(p, to.Name)
	in.pushTag, in.overwrite = to.Version, overwrite
	if in.api != nil && to.Version != "" {
		return fmt.Errorf("instance %s: a copy names no version at a swcli server (it numbers versions itself); give the project or runtime, and -t TAG", in.name)
	}
	if in.api != nil {
		// The project must exist and the credentials be good, before any
		// blob moves.
		_, err := in.api.ProjectInfo(ctx, p)
		return in.apiErr(err, p, "", "", nil)
	}
	return nil
}

func (in *Instance) PutManifest(ctx context.Context, proj, name string, manifest []byte, tags []string) (instance.Version, error) {
	proj = project(proj)
	if err := registry.CheckUserTags(tags); err != nil {
		return instance.Version{}, err
	}
	m, err := bundle.ParseManifest(manifest)
	if err != nil {
		return instance.Version{}, err
	}
	mt := m.MediaType
	if mt == "" {
		mt = ocispec.MediaTypeImageManifest
	}
	r, err := in.repo(proj, name)
	if err != nil {
		return instance.Version{}, err
	}
	desc := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}
	v, err := in.putManifest(ctx, r, desc, proj, name, manifest, tags)
	if err == nil {
		in.forgetUploads(ctx, in.repoPath(proj, name), append([]ocispec.Descriptor{m.Config}, m.Layers...))
	}
	return v, err
}

// putManifest is PutManifest on repository r, once the manifest is checked.
func (in *Instance) putManifest(ctx context.Context, r *remote.Repository, desc ocispec.Descriptor, proj, name string, manifest []byte, tags []string) (instance.Version, error) {
	if in.api != nil {
		// The server makes every new manifest a version (next vN, latest).
		if err := r.Manifests().Push(ctx, desc, bytes.NewReader(manifest)); err != nil {
			return instance.Version{}, in.ociErr(err, proj, name, "")
		}
		if len(tags) > 0 {
			return in.Tag(ctx, instance.Ref{Project: proj, Name: name, Version: desc.Digest.String()}, tags, true)
		}
		return in.Resolve(ctx, instance.Ref{Project: proj, Name: name, Version: desc.Digest.String()}, false)
	}
	// A plain registry has no versions: give it the next vN tag (unless
	// this manifest has one) and latest, as a swcli server does.
	vs, err := in.ociVersions(ctx, proj, name)
	if err != nil {
		if nf := (*registry.NotFoundError)(nil); !errors.As(err, &nf) {
			return instance.Version{}, err
		}
	}
	next, have := 0, ""
	for _, v := range vs {
		if v.Number >= next && hasVTag(v) {
			next = v.Number + 1
		}
		if v.Digest == desc.Digest && hasVTag(v) {
			have = "v" + strconv.Itoa(v.Number)
		}
		if in.pushTag != "" && v.Digest != desc.Digest && slices.Contains(v.Tags, in.pushTag) && !in.overwrite && in.pushTag != "latest" {
			return instance.Version{}, &registry.TagExistsError{Project: proj, Name: name, Tag: in.pushTag, Version: v.Short}
		}
	}
	vtag := have
	switch {
	case in.pushTag != "":
		// The tag the destination URI names (oci://host/REPO:TAG), as
		// `oras push REPO:TAG` gives it.
		vtag = in.pushTag
	case vtag == "":
		vtag = "v" + strconv.Itoa(next)
	}
	if err := r.PushReference(ctx, desc, bytes.NewReader(manifest), vtag); err != nil {
		return instance.Version{}, in.ociErr(err, proj, name, "")
	}
	for _, t := range append([]string{"latest"}, tags...) {
		if err := r.Tag(ctx, desc, t); err != nil {
			return instance.Version{}, in.ociErr(err, proj, name, t)
		}
	}
	return in.Resolve(ctx, instance.Ref{Project: proj, Name: name, Version: desc.Digest.String()}, false)
}

func hasVTag(v instance.Version) bool {
	return slices.Contains(v.Tags, "v"+strconv.Itoa(v.Number))
}

func (in *Instance) Tag(ctx context.Context, ref instance.Ref, tags []string, force bool) (instance.Version, error) {
	p := project(ref.Project)
	if err := registry.CheckUserTags(tags); err != nil {
		return instance.Version{}, err
	}
	if in.api != nil {
		var v instance.Version
		err := in.api.Do(ctx, "POST", in.versionPath(p, ref.Name, orLatest(ref.Version))+"/tags",
			map[string]any{"tags": tags, "force": force}, &v)
		return v, in.apiErr(err, p, ref.Name, ref.Version, tags)
	}
	v, err := in.Resolve(ctx, ref, false)
	if err != nil {
		return v, err
	}
	vs, err := in.ociVersions(ctx, p, ref.Name)
	if err != nil {
		return v, err
	}
	if !force {
		for _, o := range vs {
			for _, t := range tags {
				if o.Digest != v.Digest && slices.Contains(o.Tags, t) {
					return v, &registry.TagExistsError{Project: p, Name: ref.Name, Tag: t, Version: o.Short}
				}
			}
		}
	}
	r, err := in.repo(p, ref.Name)
	if err != nil {
		return v, err
	}
	desc, err := r.Manifests().Resolve(ctx, v.Digest.String())
	if err != nil {
		return v, in.ociErr(err, p, ref.Name, string(v.Digest))
	}
	for _, t := range tags {
		if err := r.Tag(ctx, desc, t); err != nil {
			return v, in.ociErr(err, p, ref.Name, t)
		}
	}
	return in.Resolve(ctx, instance.Ref{Project: p, Name: ref.Name, Version: v.Digest.String()}, false)
}

func orLatest(v string) string {
	if v == "" {
		return "latest"
	}
	return v
}

// --- Instance ---

func (in *Instance) unsupported(op string) error {
	return &instance.UnsupportedError{Place: in.name, Op: op,
		Why: "an OCI registry keeps no versions, trash or project listing; use a swcli server (swcli server start) for that"}
}

func (in *Instance) ListRuntimes(ctx context.Context, proj string, showRemoved bool) ([]instance.RuntimeSummary, error) {
	if in.api == nil {
		return nil, in.unsupported("list runtimes")
	}
	p := project(proj)
	var out []instance.RuntimeSummary
	err := in.api.Do(ctx, "GET", "/projects/"+esc(p)+"/runtimes"+removedQuery(showRemoved), nil, &out)
	return out, in.apiErr(err, p, "", "", nil)
}

func (in *Instance) ListVersions(ctx context.Context, proj, name string, showRemoved bool) ([]instance.Version, error) {
	p := project(proj)
	if in.api == nil {
		return in.ociVersions(ctx, p, name)
	}
	var out []instance.Version
	err := in.api.Do(ctx, "GET", "/projects/"+esc(p)+"/runtimes/"+esc(name)+"/versions"+removedQuery(showRemoved), nil, &out)
	if err == nil && len(out) == 0 {
		return nil, in.notFound(p, name, "")
	}
	return out, in.apiErr(err, p, name, "", nil)
}

// ociVersions lists the versions of a plain registry's repository: its
// tags (paginated by oras), grouped by the manifest they point at, newest
// vN first. A registry keeps no creation time or trash.
func (in *Instance) ociVersions(ctx context.Context, p, name string) ([]instance.Version, error) {
	r, err := in.repo(p, name)
	if err != nil {
		return nil, err
	}
	var tags []string
	if err := r.Tags(ctx, "", func(ts []string) error { tags = append(tags, ts...); return nil }); err != nil {
		return nil, in.ociErr(err, p, name, "")
	}
	byDigest := map[digest.Digest][]string{}
	var order []digest.Digest
	for _, t := range tags {
		desc, err := r.Manifests().Resolve(ctx, t)
		if err != nil {
			return nil, in.ociErr(err, p, name, t)
		}
		if _, ok := byDigest[desc.Digest]; !ok {
			order = append(order, desc.Digest)
		}
		byDigest[desc.Digest] = append(byDigest[desc.Digest], t)
	}
	if len(order) == 0 {
		return nil, in.notFound(p, name, "")
	}
	out := make([]instance.Version, 0, len(order))
	for _, d := range order {
		out = append(out, ociVersion(p, name, d, byDigest[d]))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Number > out[j].Number })
	return out, nil
}

// ociVersion describes a manifest of a plain registry: vN first, then
// latest, then user tags, as the registry orders them.
func ociVersion(p, name string, d digest.Digest, tags []string) instance.Version {
	v := instance.Version{Project: p, Name: name, Digest: d, Short: d.Encoded()[:12], Number: -1}
	var vt, lt, ut []string
	for _, t := range tags {
		switch {
		case t == "latest":
			lt = append(lt, t)
		case registry.IsReservedTag(t): // vN
			if n, err := strconv.Atoi(t[1:]); err == nil && n > v.Number {
				v.Number = n
			}
			vt = append(vt, t)
		default:
			ut = append(ut, t)
		}
	}
	v.Tags = append(append(vt, lt...), ut...)
	return v
}

func (in *Instance) Untag(ctx context.Context, ref instance.Ref, tags []string) (instance.Version, error) {
	if in.api == nil {
		return instance.Version{}, in.unsupported("untag")
	}
	p := project(ref.Project)
	v, err := in.Resolve(ctx, ref, false)
	if err != nil {
		return v, err
	}
	for _, t := range tags {
		if !slices.Contains(v.Tags, t) {
			return v, &registry.TagNotFoundError{Project: p, Name: ref.Name, Tag: t, Existing: v.Tags}
		}
	}
	for _, t := range tags {
		err := in.api.Do(ctx, "DELETE", "/projects/"+esc(p)+"/runtimes/"+esc(ref.Name)+"/tags/"+esc(t), nil, nil)
		if err != nil {
			return v, in.apiErr(err, p, ref.Name, t, nil)
		}
	}
	return in.Resolve(ctx, instance.Ref{Project: p, Name: ref.Name, Version: v.Digest.String()}, false)
}

func (in *Instance) Remove(ctx context.Context, ref instance.Ref, force bool) ([]instance.Version, error) {
	if in.api == nil {
		return nil, in.unsupported("remove")
	}
	p := project(ref.Project)
	q := "?force=false"
	if force {
		q = "?force=true"
	}
	if ref.Version == "" {
		// every version: one request, one operation on the server
		var vs []instance.Version
		err := in.api.Do(ctx, "DELETE", "/projects/"+esc(p)+"/runtimes/"+esc(ref.Name)+q, nil, &vs)
		return vs, in.apiErr(err, p, ref.Name, "", nil)
	}
	v, err := in.Resolve(ctx, ref, force)
	if err != nil {
		return nil, err
	}
	if err := in.api.Do(ctx, "DELETE", in.versionPath(p, ref.Name, v.Digest.String())+q, nil, nil); err != nil {
		return nil, in.apiErr(err, p, ref.Name, v.Short, nil)
	}
	return []instance.Version{v}, nil
}

func (in *Instance) Recover(ctx context.Context, ref instance.Ref) (instance.Version, error) {
	if in.api == nil {
		return instance.Version{}, in.unsupported("recover")
	}
	p := project(ref.Project)
	var v instance.Version
	err := in.api.Do(ctx, "POST", in.versionPath(p, ref.Name, orLatest(ref.Version))+"/recover", nil, &v)
	return v, in.apiErr(err, p, ref.Name, ref.Version, nil)
}

func (in *Instance) GC(context.Context, instance.GCOptions) (instance.GCStats, error) {
	return instance.GCStats{}, &instance.UnsupportedError{Place: in.name, Op: "gc",
		Why: "garbage collection runs on the server itself, not from a client"}
}

// BlobConcurrency: blobs move over separate requests (each upload has its
// own session and state file, or is one request; none is buffered),
// several at once: enough that the round trips and disk flushes of small
// blobs overlap.
func (in *Instance) BlobConcurrency() int { return blobConcurrency }

const blobConcurrency = 16
