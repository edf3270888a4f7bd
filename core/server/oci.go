package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/spec"
	"github.com/swcli/swcli/core/store"
)

// The OCI distribution API (/v2/) over one registry. A repository is
// P/KIND/NAME: project P (what Access authorizes), KIND "runtime", "model"
// or "dataset" (the registry kind), NAME a runtime name. Every request is authenticated
// and authorized by Access before anything is read; blobs stream between the
// connection and the store and are never held in memory; upload sessions
// live in the store (registry.StartUpload), so any server sharing the store
// can continue them.

// OCIOption changes a limit of the OCI handler.
type OCIOption func(*ociHandler)

// WithMaxBlobSize sets the largest blob a push may upload (default 64 GiB).
func WithMaxBlobSize(n int64) OCIOption { return func(h *ociHandler) { h.maxBlob = n } }

// WithMaxTagsPage sets the most tags one tag-list page returns (default
// 1000); a larger n is cut to it, with a Link to the next page.
func WithMaxTagsPage(n int) OCIOption { return func(h *ociHandler) { h.maxTags = n } }

// WithBlobRedirect says whether a blob GET is answered with 307 Temporary
// Redirect to a short-lived URL of the blob in the store's own service
// when the store gives one (registry.BlobURL: S3 presigned GetObject), as
// distribution and Harbor do for S3 storage. On by default: the bytes then
// go from S3 to the client without passing through the server (and,
// behind it, the store plugin), which on S3 is most of a pull's CPU. Off
// proxies them, for clients that cannot reach the bucket's endpoint.
func WithBlobRedirect(on bool) OCIOption { return func(h *ociHandler) { h.redirect = on } }

type ociHandler struct {
	reg      *registry.Registry
	acc      Access
	log      hclog.Logger
	maxBlob  int64
	maxTags  int
	redirect bool
}

// repoKinds are the KIND components of a repository name and the registry
// artifact kind they map to.
var repoKinds = map[string]bool{"runtime": true, "model": true, "dataset": true}

// NewOCIHandler serves the OCI distribution API at /v2/ over reg, asking acc
// on every request. Mount it at "/v2/".
func NewOCIHandler(reg *registry.Registry, acc Access, log hclog.Logger, opts ...OCIOption) http.Handler {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	h := &ociHandler{reg: reg, acc: acc, log: log, maxBlob: 64 << 30, maxTags: 1000, redirect: true}
	for _, o := range opts {
		o(h)
	}
	return h
}

// repo is a parsed repository name.
type repo struct {
	Project, Kind, Name string
}

func (r repo) String() string { return r.Project + "/" + r.Kind + "/" + r.Name }

// parseRepo checks a repository name: P/KIND/NAME with P and NAME following
// the runtime-name rule and KIND a known kind.
func parseRepo(s string) (repo, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return repo{}, ociErr(http.StatusBadRequest, "NAME_INVALID",
			fmt.Sprintf("repository %q is not PROJECT/runtime/NAME", s))
	}
	rp := repo{Project: parts[0], Kind: parts[1], Name: parts[2]}
	if !repoKinds[rp.Kind] {
		return repo{}, ociErr(http.StatusBadRequest, "NAME_INVALID",
			fmt.Sprintf("repository %q: kind %q is not runtime, model or dataset", s, rp.Kind))
	}
	for _, v := range []string{rp.Project, rp.Name} {
		if err := spec.ValidateName(v); err != nil {
			return repo{}, ociErr(http.StatusBadRequest, "NAME_INVALID", fmt.Sprintf("repository %q: %v", s, err))
		}
	}
	return rp, nil
}

func (h *ociHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	p, err := h.acc.Authenticate(r)
	if err != nil {
		// wrong credentials wrap ErrUnauthenticated (401); anything else
		// (a store failure) is a 500
		h.writeOCIError(w, r, err)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v2")
	if path == "/" || path == "" {
		h.ping(w, r, p)
		return
	}
	path = strings.TrimPrefix(path, "/")
	rp, route, err := splitRoute(path)
	if err != nil {
		h.writeOCIError(w, r, err)
		return
	}
	act := actionOf(r.Method)
	if len(route) >= 2 && route[0] == "blobs" && route[1] == "uploads" {
		act = ActionPush // an upload session is part of a push, GET and DELETE too
	}
	if err := h.acc.Authorize(r.Context(), p, rp.Project, act); err != nil {
		h.writeOCIError(w, r, err)
		return
	}
	// The registry of the repository's kind (P/model/NAME is a model).
	hk := *h
	hk.reg = h.reg.Of(registry.Kind(rp.Kind))
	if err := hk.route(w, r, p, rp, route); err != nil {
		h.writeOCIError(w, r, err)
	}
}

// splitRoute cuts "P/KIND/NAME/rest" into the repository and the rest.
func splitRoute(path string) (repo, []string, error) {
	segs := strings.Split(path, "/")
	if len(segs) < 4 {
		return repo{}, nil, ociErr(http.StatusNotFound, "NAME_INVALID", "no such route: /v2/"+path)
	}
	rp, err := parseRepo(strings.Join(segs[:3], "/"))
	return rp, segs[3:], err
}

func (h *ociHandler) ping(w http.ResponseWriter, r *http.Request, p Principal) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.writeOCIError(w, r, ociErr(http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed"))
		return
	}
	if p.Anonymous() {
		// Challenge so clients send their credentials; anonymous pulls of
		// public projects still work on the repository routes.
		h.writeOCIError(w, r, ErrUnauthenticated)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("{}"))
}

func actionOf(method string) Action {
	switch method {
	case http.MethodGet, http.MethodHead:
		return ActionPull
	case http.MethodDelete:
		return ActionDelete
	}
	return ActionPush
}

func (h *ociHandler) route(w http.ResponseWriter, r *http.Request, p Principal, rp repo, rest []string) error {
	m := r.Method
	switch {
	case rest[0] == "manifests" && len(rest) == 2:
		switch m {
		case http.MethodGet, http.MethodHead:
			return h.getManifest(w, r, rp, rest[1])
		case http.MethodPut:
			return h.putManifest(w, r, rp, rest[1])
		case http.MethodDelete:
			return h.deleteManifest(w, r, rp, rest[1])
		}
	case rest[0] == "blobs" && len(rest) >= 2 && rest[1] == "uploads":
		id := ""
		if len(rest) == 3 {
			id = rest[2]
		} else if len(rest) > 3 {
			break
		}
		switch {
		case m == http.MethodPost && id == "":
			return h.startUpload(w, r, p, rp)
		case m == http.MethodGet && id != "":
			return h.uploadStatus(w, r, rp, id)
		case m == http.MethodPatch && id != "":
			return h.patchUpload(w, r, rp, id)
		case m == http.MethodPut && id != "":
			return h.finishUpload(w, r, rp, id)
		case m == http.MethodDelete && id != "":
			if err := h.reg.CancelUpload(r.Context(), rp.Project, rp.Name, id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
	case rest[0] == "blobs" && len(rest) == 2:
		d, err := parseDigest(rest[1])
		if err != nil {
			return err
		}
		switch m {
		case http.MethodGet, http.MethodHead:
			return h.getBlob(w, r, rp, d)
		case http.MethodDelete:
			if err := h.reg.UnlinkBlob(r.Context(), rp.Project, rp.Name, d); err != nil {
				return err
			}
			w.WriteHeader(http.StatusAccepted)
			return nil
		}
	case rest[0] == "tags" && len(rest) == 2 && rest[1] == "list" && (m == http.MethodGet || m == http.MethodHead):
		return h.listTags(w, r, rp)
	case rest[0] == "referrers" && len(rest) == 2 && (m == http.MethodGet || m == http.MethodHead):
		return h.referrers(w, r, rp, rest[1])
	default:
		return ociErr(http.StatusNotFound, "UNSUPPORTED", "no such route: "+r.URL.Path)
	}
	return ociErr(http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" is not allowed on "+r.URL.Path)
}

func parseDigest(s string) (digest.Digest, error) {
	d := digest.Digest(s)
	if err := registry.CheckDigest(d); err != nil {
		return "", err
	}
	return d, nil
}

// --- manifests

func (h *ociHandler) getManifest(w http.ResponseWriter, r *http.Request, rp repo, ref string) error {
	m, err := h.reg.GetManifest(r.Context(), rp.Project, rp.Name, ref)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", m.MediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.Body)))
	w.Header().Set("Docker-Content-Digest", m.Digest.String())
	w.Header().Set("ETag", `"`+m.Digest.String()+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(m.Body)
	}
	return nil
}

func (h *ociHandler) putManifest(w http.ResponseWriter, r *http.Request, rp repo, ref string) error {
	if r.ContentLength > registry.MaxManifestSize {
		return ociErr(http.StatusRequestEntityTooLarge, "SIZE_INVALID",
			fmt.Sprintf("manifest larger than %d bytes", registry.MaxManifestSize))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, registry.MaxManifestSize))
	if err != nil {
		return err
	}
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	also := r.URL.Query()["tag"]
	m, err := h.reg.PutManifest(r.Context(), rp.Project, rp.Name, ref, strings.TrimSpace(mt), body, also...)
	if err != nil {
		return err
	}
	if len(also) > 0 {
		w.Header().Set("OCI-Tag", strings.Join(also, ", "))
	}
	if m.Subject != "" {
		w.Header().Set("OCI-Subject", m.Subject.String())
	}
	w.Header().Set("Location", "/v2/"+rp.String()+"/manifests/"+m.Digest.String())
	w.Header().Set("Docker-Content-Digest", m.Digest.String())
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (h *ociHandler) deleteManifest(w http.ResponseWriter, r *http.Request, rp repo, ref string) error {
	var err error
	if strings.Contains(ref, ":") {
		var d digest.Digest
		if d, err = parseDigest(ref); err != nil {
			return err
		}
		err = h.reg.DeleteManifest(r.Context(), rp.Project, rp.Name, d)
	} else {
		err = h.reg.DeleteTag(r.Context(), rp.Project, rp.Name, ref)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// --- blobs

func (h *ociHandler) getBlob(w http.ResponseWriter, r *http.Request, rp repo, d digest.Digest) error {
	if r.Method == http.MethodHead {
		// A pusher that finds the blob skips uploading it: lease it first,
		// so that gc on any server sharing the store keeps it.
		if err := h.reg.LeaseBlob(r.Context(), d); err != nil {
			return err
		}
	}
	if r.Method == http.MethodGet && h.redirect {
		// to the store's own service, a Range too (the client sends its
		// Range header on), once every check above and the link's passed
		u, err := h.reg.BlobURL(r.Context(), rp.Project, rp.Name, d)
		if err == nil {
			redirectBlob(w, d, u)
			return nil
		}
		if !errors.Is(err, store.ErrNoURL) {
			return err
		}
	}
	if r.Method == http.MethodGet && r.Header.Get("Range") == "" {
		// the whole blob: its size comes with the bytes (one store
		// request less than a HEAD of the blob and then a GET)
		rc, size, err := h.reg.OpenLinkedBlob(r.Context(), rp.Project, rp.Name, d)
		if err != nil {
			return err
		}
		defer rc.Close()
		h.blobHeaders(w, d)
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		h.sendBlob(w, rp, d, rc)
		return nil
	}
	size, err := h.reg.BlobLinked(r.Context(), rp.Project, rp.Name, d)
	if err != nil {
		return err
	}
	h.blobHeaders(w, d)
	off, n, partial, err := parseRange(r.Header.Get("Range"), size)
	if err != nil {
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		return err
	}
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, size))
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return nil
	}
	rc, err := h.reg.GetBlobRange(r.Context(), d, off, n)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.WriteHeader(status)
	h.sendBlob(w, rp, d, rc)
	return nil
}

// redirectBlob answers a blob GET with 307 to u, a presigned URL. Not
// http.Redirect, whose body repeats the URL: u is a credential until it
// expires, so it is sent once, in Location, never cached, and never
// logged (the request log has the path only).
func redirectBlob(w http.ResponseWriter, d digest.Digest, u string) {
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Location", u)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// blobHeaders are the headers of every answer with blob d.
func (h *ociHandler) blobHeaders(w http.ResponseWriter, d digest.Digest) {
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("ETag", `"`+d.String()+`"`)
}

// sendBlob copies the blob's bytes to the client, whose going away is
// only logged (the status line is sent).
func (h *ociHandler) sendBlob(w http.ResponseWriter, rp repo, d digest.Digest, rc io.Reader) {
	if _, err := io.Copy(w, rc); err != nil {
		h.log.Debug("blob download cut short", "repo", rp.String(), "digest", d.String(), "error", err)
	}
}

// parseRange reads a single-range "bytes=" header against size; partial is
// false without one. Multiple ranges are not served (the whole blob is).
// (Written by hand: http.ServeContent wants an io.ReadSeeker, a store
// stream is not one.)
func parseRange(h string, size int64) (off, n int64, partial bool, err error) {
	if h == "" || strings.Contains(h, ",") {
		return 0, size, false, nil
	}
	bad := ociErr(http.StatusRequestedRangeNotSatisfiable, "BLOB_UNKNOWN", "range "+h+" not satisfiable")
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0, 0, false, bad
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, false, bad
	}
	switch {
	case a == "": // suffix: the last b bytes
		k, err := strconv.ParseInt(b, 10, 64)
		if err != nil || k <= 0 {
			return 0, 0, false, bad
		}
		k = min(k, size)
		return size - k, k, true, nil
	default:
		start, err := strconv.ParseInt(a, 10, 64)
		if err != nil || start < 0 || start >= size {
			return 0, 0, false, bad
		}
		end := size - 1
		if b != "" {
			if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
				return 0, 0, false, bad
			}
			end = min(end, size-1)
		}
		return start, end - start + 1, true, nil
	}
}

// --- uploads

func uploadLocation(rp repo, id string) string { return "/v2/" + rp.String() + "/blobs/uploads/" + id }

func (h *ociHandler) blobCreated(w http.ResponseWriter, rp repo, d digest.Digest) {
	w.Header().Set("Location", "/v2/"+rp.String()+"/blobs/"+d.String())
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// limitBody caps what a push may send: the blob limit minus what the
// session already holds.
func (h *ociHandler) limitBody(w http.ResponseWriter, r *http.Request, have int64) io.Reader {
	if r.ContentLength > h.maxBlob-have {
		return errReader{&http.MaxBytesError{Limit: h.maxBlob}}
	}
	return bodyReader{http.MaxBytesReader(w, r.Body, h.maxBlob-have)}
}

// bodyReader marks a failed read of a push's body (the client went away,
// or sent less than its Content-Length) as *ClientBodyError, so the
// request ends as the client's fault, not as a server error.
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			err = &ClientBodyError{Err: err}
		}
	}
	return n, err
}

// ClientBodyError is a push whose request body could not be read to its
// end: the client disconnected or its body was cut short. What the
// session held before the request is kept, so the client can resume.
type ClientBodyError struct{ Err error }

func (e *ClientBodyError) Error() string { return "request body ended early: " + e.Err.Error() }
func (e *ClientBodyError) Unwrap() error { return e.Err }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (h *ociHandler) startUpload(w http.ResponseWriter, r *http.Request, p Principal, rp repo) error {
	ctx := r.Context()
	q := r.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		d, err := parseDigest(mount)
		if err != nil {
			return err
		}
		if from := q.Get("from"); from != "" && h.mount(ctx, p, rp, from, d) {
			h.blobCreated(w, rp, d)
			return nil
		}
		// Not mountable (or no source given): start a normal upload, as
		// the spec allows.
	}
	if ds := q.Get("digest"); ds != "" {
		d, err := parseDigest(ds)
		if err != nil {
			return err
		}
		if _, err := h.reg.PutRepoBlobSized(ctx, rp.Project, rp.Name, h.limitBody(w, r, 0), d, r.ContentLength); err != nil {
			return err
		}
		h.blobCreated(w, rp, d)
		return nil
	}
	u, err := h.reg.StartUpload(ctx, rp.Project, rp.Name)
	if err != nil {
		return err
	}
	h.uploadAccepted(w, rp, u, http.StatusAccepted)
	return nil
}

// mount links blob d of repository from into rp when the caller may pull
// from and the blob is readable there.
func (h *ociHandler) mount(ctx context.Context, p Principal, rp repo, from string, d digest.Digest) bool {
	src, err := parseRepo(from)
	if err != nil {
		return false
	}
	if err := h.acc.Authorize(ctx, p, src.Project, ActionPull); err != nil {
		return false
	}
	if _, err := h.reg.Of(registry.Kind(src.Kind)).BlobLinked(ctx, src.Project, src.Name, d); err != nil {
		return false
	}
	return h.reg.LinkBlob(ctx, rp.Project, rp.Name, d) == nil
}

func (h *ociHandler) uploadAccepted(w http.ResponseWriter, rp repo, u registry.Upload, status int) {
	w.Header().Set("Location", uploadLocation(rp, u.ID))
	w.Header().Set("Docker-Upload-UUID", u.ID)
	w.Header().Set("Range", fmt.Sprintf("0-%d", max(u.Size-1, 0)))
	w.Header().Set("OCI-Chunk-Min-Length", "0")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

func (h *ociHandler) uploadStatus(w http.ResponseWriter, r *http.Request, rp repo, id string) error {
	u, err := h.reg.GetUpload(r.Context(), rp.Project, rp.Name, id)
	if err != nil {
		return err
	}
	h.uploadAccepted(w, rp, u, http.StatusNoContent)
	return nil
}

// patchUpload appends a chunk. With Content-Range it must start where the
// session ends (else 416 with the session's Range, so the client resumes);
// without, it is streamed at the end.
func (h *ociHandler) patchUpload(w http.ResponseWriter, r *http.Request, rp repo, id string) error {
	ctx := r.Context()
	off, end := int64(-1), int64(-1)
	if cr := r.Header.Get("Content-Range"); cr != "" {
		var err error
		if off, end, err = parseContentRange(cr); err != nil {
			return err
		}
		if r.ContentLength >= 0 && r.ContentLength != end-off+1 {
			return ociErr(http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID",
				fmt.Sprintf("Content-Range %s does not match Content-Length %d", cr, r.ContentLength))
		}
	}
	cur, err := h.reg.GetUpload(ctx, rp.Project, rp.Name, id)
	if err != nil {
		return err
	}
	u, err := h.reg.AppendUploadSized(ctx, rp.Project, rp.Name, id, off, h.limitBody(w, r, cur.Size), r.ContentLength)
	var re *registry.UploadRangeError
	if errors.As(err, &re) {
		w.Header().Set("Location", uploadLocation(rp, id))
		w.Header().Set("Range", fmt.Sprintf("0-%d", max(re.Size-1, 0)))
		return err
	}
	if err != nil {
		return err
	}
	if end >= 0 && u.Size != end+1 {
		return ociErr(http.StatusBadRequest, "BLOB_UPLOAD_INVALID", "chunk shorter than its Content-Range")
	}
	h.uploadAccepted(w, rp, u, http.StatusAccepted)
	return nil
}

// parseContentRange reads "start-end" (or "bytes start-end/size").
func parseContentRange(s string) (int64, int64, error) {
	v := strings.TrimPrefix(s, "bytes ")
	v, _, _ = strings.Cut(v, "/")
	a, b, ok := strings.Cut(v, "-")
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, ociErr(http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", "bad Content-Range "+strconv.Quote(s))
	}
	return start, end, nil
}

func (h *ociHandler) finishUpload(w http.ResponseWriter, r *http.Request, rp repo, id string) error {
	ctx := r.Context()
	d, err := parseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		return err
	}
	cur, err := h.reg.GetUpload(ctx, rp.Project, rp.Name, id)
	if err != nil {
		return err
	}
	off := int64(-1)
	if cr := r.Header.Get("Content-Range"); cr != "" {
		if off, _, err = parseContentRange(cr); err != nil {
			return err
		}
	}
	if cur.Size == 0 && off <= 0 && r.ContentLength != 0 {
		// POST then PUT with the whole blob (oras-go does this): it streams
		// straight into the blob, without a chunk to copy.
		if _, err := h.reg.PutRepoBlobSized(ctx, rp.Project, rp.Name, h.limitBody(w, r, 0), d, r.ContentLength); err != nil {
			return err
		}
		if err := h.reg.CancelUpload(ctx, rp.Project, rp.Name, id); err != nil {
			return err
		}
		h.blobCreated(w, rp, d)
		return nil
	}
	if r.ContentLength != 0 {
		if _, err := h.reg.AppendUploadSized(ctx, rp.Project, rp.Name, id, off, h.limitBody(w, r, cur.Size), r.ContentLength); err != nil {
			return err
		}
	}
	if _, err := h.reg.FinishUpload(ctx, rp.Project, rp.Name, id, d); err != nil {
		return err
	}
	h.blobCreated(w, rp, d)
	return nil
}

// --- tags and referrers

func (h *ociHandler) listTags(w http.ResponseWriter, r *http.Request, rp repo) error {
	tags, err := h.reg.OCITags(r.Context(), rp.Project, rp.Name)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(tags, last)
		if i < len(tags) && tags[i] == last {
			i++
		}
		tags = tags[i:]
	}
	n := h.maxTags
	if ns := q.Get("n"); ns != "" {
		v, err := strconv.Atoi(ns)
		if err != nil || v < 0 {
			return ociErr(http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "n must be a number >= 0")
		}
		n = min(v, h.maxTags)
	}
	if len(tags) > n {
		tags = tags[:n]
		if n > 0 {
			next := url.Values{"n": {strconv.Itoa(n)}, "last": {tags[n-1]}}
			w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?%s>; rel="next"`, rp.String(), next.Encode()))
		}
	}
	return writeOCIJSON(w, r, "application/json", map[string]any{"name": rp.String(), "tags": tags})
}

func (h *ociHandler) referrers(w http.ResponseWriter, r *http.Request, rp repo, ds string) error {
	d, err := parseDigest(ds)
	if err != nil {
		return err
	}
	at := r.URL.Query().Get("artifactType")
	descs, err := h.reg.Referrers(r.Context(), rp.Project, rp.Name, d, at)
	if err != nil {
		return err
	}
	if at != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeOCIJSON(w, r, ocispec.MediaTypeImageIndex, ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: descs,
	})
}

func writeOCIJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, bytes.NewReader(b))
	}
	return nil
}
