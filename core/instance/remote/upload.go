package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/swcli/swcli/core/instance"
	swreg "github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/internal/atomicfile"
)

// ChunkSize is how much of a blob one PATCH sends (streamed from the
// source, never buffered). A killed upload resends at most the chunk it
// was sending, less what the registry kept of it. A blob of at most one
// chunk goes in one request, with no session to resume.
var ChunkSize int64 = 32 << 20

// uploadState is what a blob upload leaves on disk, so a client killed in
// the middle of a blob resumes there after a restart: the session, written
// when it starts (and again only if the registry moves it). How far the
// session got is the registry's to say (remoteOffset), so no chunk waits on
// a write of this file.
type uploadState struct {
	Location string `json:"location"`
}

// Writer starts or resumes the upload of blob desc to the current
// repository.
//
// Written by hand: oras-go pushes a blob in one request (or a POST+PUT) and
// cannot resume one. This is the distribution spec's chunked upload: POST
// opens a session, each chunk is a PATCH with Content-Range, the last step
// a PUT ?digest= carrying the rest. The session URL is saved in a state
// file under the storage root keyed by (instance, repository, digest); a
// later Writer asks the registry where that session ends (GET on the upload
// URL → Range) and carries on from there. The registry hashes the whole
// blob on the PUT and refuses a mismatch (DIGEST_INVALID →
// registry.DigestMismatchError); nothing is visible before.
//
// Each request's body streams from Write through a pipe, so nothing of a
// blob is held in memory, however many blobs move at once. A blob of at
// most one chunk has nothing to resume inside: it goes in one request, with
// no session and no state file: to a swcli server one POST ?digest= (the
// spec's single-request monolithic upload), to another registry POST then
// PUT (what every registry takes).
func (in *Instance) Writer(ctx context.Context, desc ocispec.Descriptor) (instance.BlobWriter, error) {
	if in.rtName == "" {
		return nil, fmt.Errorf("instance %s: no runtime chosen for the upload", in.name)
	}
	repo := in.repoPath(in.project, in.rtName)
	ref := registry.Reference{Registry: in.host, Repository: repo}
	ctx = auth.AppendRepositoryScope(ctx, ref, auth.ActionPull, auth.ActionPush)
	w := &blobWriter{in: in, ctx: ctx, desc: desc, repo: repo, chunk: chunkSize(), prog: progressOf(ctx),
		state: in.statePath(repo, desc.Digest)}
	if desc.Size <= w.chunk {
		w.whole = true
		return w, nil
	}
	if st, ok := w.load(); ok {
		if off, ok := w.remoteOffset(st); ok { // w.loc: where the registry says
			w.off = off
			return w, nil
		}
	}
	if err := w.start(); err != nil {
		return nil, err
	}
	return w, nil
}

// statePath is the state file of the upload of blob d to repo.
func (in *Instance) statePath(repo string, d digest.Digest) string {
	key := sha256.Sum256([]byte(in.base + "\x00" + repo + "\x00" + d.String()))
	return filepath.Join(in.stateDir, hex.EncodeToString(key[:16])+".json")
}

// forgetUploads ends what is left of uploads of blobs to repo once a
// version referencing them is complete there: a session an interrupted
// copy left (the blob then came another way, or was already there) is
// cancelled at the registry (best effort: it expires anyway) and its state
// file removed, so the storage root keeps no state of finished work.
func (in *Instance) forgetUploads(ctx context.Context, repo string, blobs []ocispec.Descriptor) {
	for _, d := range blobs {
		path := in.statePath(repo, d.Digest)
		w := &blobWriter{in: in, ctx: ctx, state: path}
		if st, ok := w.load(); ok {
			if resp, err := w.do("DELETE", st.Location, nil, 0, nil); err == nil {
				resp.Body.Close()
			}
		}
		_ = os.Remove(path)
	}
}

type blobWriter struct {
	in    *Instance
	ctx   context.Context
	desc  ocispec.Descriptor
	repo  string
	state string

	chunk int64 // bytes per PATCH
	prog  Progress
	// whole: the blob is at most one chunk, sent in one request without a
	// session to resume
	whole bool

	loc string // the session's upload URL
	off int64  // bytes the registry holds
	// The request in flight, whose body Write feeds through a pipe (no
	// chunk is buffered): nil pw when none. Requests go one after the
	// other; the one that reaches the blob's end closes the upload (final).
	pw    *io.PipeWriter
	left  int64 // bytes of its body still to write
	size  int64 // its body's length
	final bool
	res   chan error // its outcome
	done  bool
}

func (w *blobWriter) Offset() int64 { return w.off }

func (w *blobWriter) load() (uploadState, bool) {
	var st uploadState
	data, err := os.ReadFile(w.state)
	if err != nil || json.Unmarshal(data, &st) != nil || st.Location == "" {
		return st, false
	}
	return st, true
}

func (w *blobWriter) save() error {
	data, _ := json.Marshal(uploadState{Location: w.loc})
	return atomicfile.Write(w.state, data, 0o600)
}

// remoteOffset asks the registry where the saved session ends; a session it
// no longer knows, or one whose end cannot be told, starts over.
func (w *blobWriter) remoteOffset(st uploadState) (int64, bool) {
	resp, err := w.do("GET", st.Location, nil, 0, nil)
	if err != nil {
		return 0, false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return 0, false
	}
	end, ok := parseRange(resp.Header.Get("Range"))
	if !ok {
		return 0, false
	}
	// Whatever the session holds is a prefix of this blob (only this
	// client's writer sends to it), so the upload goes on from its end,
	// also when that is inside a chunk (a chunk cut short, which the
	// registry kept). "0-0" is both "nothing" and "one byte": a new session
	// then costs at most that byte.
	off := end + 1
	if end == 0 || off > w.desc.Size {
		return 0, false
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		st.Location = w.abs(loc)
	}
	w.loc = st.Location
	return off, true
}

func parseRange(h string) (int64, bool) {
	h = strings.TrimPrefix(h, "bytes=")
	_, end, ok := strings.Cut(h, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(end, 10, 64)
	return n, err == nil && n >= 0
}

// start opens a session to resume later: its URL is saved.
func (w *blobWriter) start() error {
	if err := w.open(); err != nil {
		return err
	}
	return w.save()
}

// open opens an upload session (POST).
func (w *blobWriter) open() error {
	resp, err := w.do("POST", w.in.base+"/v2/"+w.repo+"/blobs/uploads/", nil, 0, nil)
	if err != nil {
		return err
	}
	if err := w.check(resp, http.StatusAccepted); err != nil {
		return w.in.wrap(err)
	}
	w.loc, w.off = w.abs(resp.Header.Get("Location")), 0
	return nil
}

// authenticate makes sure the oras client knows the host's auth scheme, so
// that a request whose body streams (and cannot be sent again after a
// challenge) carries the credentials the first time: a bodiless GET /v2/
// when the scheme is not known yet (a Stat before has done it).
func (in *Instance) authenticate(ctx context.Context) error {
	if _, err := in.client.Cache.GetScheme(ctx, in.host); err == nil {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, "GET", in.base+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return in.wrap(err)
	}
	return resp.Body.Close()
}

// errShortBlob stops a request whose body the source did not fill.
var errShortBlob = errors.New("the blob ended before its size")

func (w *blobWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if w.pw == nil {
			if err := w.begin(); err != nil {
				return n, err
			}
		}
		if w.left == 0 {
			return n, fmt.Errorf("instance %s: blob %s: more bytes than its size %d", w.in.name, w.desc.Digest, w.desc.Size)
		}
		k, err := w.pw.Write(p[:min(int64(len(p)), w.left)])
		n, p, w.left = n+k, p[k:], w.left-int64(k)
		if err != nil {
			// the request ended before its body did: its outcome says why
			if rerr := w.wait(); rerr != nil {
				return n, rerr
			}
			return n, err
		}
		if w.left == 0 && !w.final {
			// a whole chunk is out: its PATCH answers before the next
			if err := w.wait(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// begin starts the request for the blob's next bytes: a PATCH of one chunk,
// or the closing request with the rest (PUT ?digest= to the session; for a
// whole blob, POST ?digest= to a swcli server, else a session's POST then
// the PUT).
func (w *blobWriter) begin() error {
	rest := w.desc.Size - w.off
	if !w.whole && rest > w.chunk {
		h := http.Header{"Content-Type": {"application/octet-stream"},
			"Content-Range": {fmt.Sprintf("%d-%d", w.off, w.off+w.chunk-1)}}
		w.send("PATCH", w.loc, w.chunk, false, h)
		return nil
	}
	if w.whole && w.in.api != nil {
		// The body cannot be sent again after an auth challenge: have the
		// scheme known first (once per instance; a Stat has done it).
		if err := w.in.authenticate(w.ctx); err != nil {
			return err
		}
		w.send("POST", w.in.base+"/v2/"+w.repo+"/blobs/uploads/?digest="+url.QueryEscape(w.desc.Digest.String()), rest, true, octetStream)
		return nil
	}
	if w.whole {
		if err := w.open(); err != nil {
			return err
		}
	}
	u, err := url.Parse(w.loc)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", w.desc.Digest.String())
	u.RawQuery = q.Encode()
	w.send("PUT", u.String(), rest, true, octetStream)
	return nil
}

// send starts a request of n body bytes, which Write then gives.
func (w *blobWriter) send(method, u string, n int64, final bool, h http.Header) {
	pr, pw := io.Pipe()
	w.pw, w.left, w.size, w.final = pw, n, n, final
	w.res = make(chan error, 1)
	go func() {
		err := w.exchange(method, u, pr, n, final, h)
		// a request that ended early stops the Write feeding it
		_ = pr.CloseWithError(cmpOr(err, io.ErrClosedPipe))
		w.res <- err
	}()
}

func cmpOr(err, or error) error {
	if err != nil {
		return err
	}
	return or
}

// exchange sends one request of the upload and reads its answer.
func (w *blobWriter) exchange(method, u string, body io.Reader, n int64, final bool, h http.Header) error {
	resp, err := w.do(method, u, body, n, h)
	if err != nil {
		return err
	}
	if final {
		return w.check(resp, http.StatusCreated, http.StatusNoContent, http.StatusOK)
	}
	if err := w.check(resp, http.StatusAccepted, http.StatusNoContent); err != nil {
		return w.in.wrap(err)
	}
	if loc := resp.Header.Get("Location"); loc != "" && w.abs(loc) != w.loc {
		// the registry moved the session (distribution puts its state in
		// the URL): remember where
		w.loc = w.abs(loc)
		return w.save()
	}
	return nil
}

// wait ends the request in flight once its body is written (or cut short
// by an earlier failure) and counts what it carried; its error, if any.
func (w *blobWriter) wait() error {
	if w.pw == nil {
		return nil
	}
	if w.left > 0 {
		_ = w.pw.CloseWithError(errShortBlob)
	} else {
		_ = w.pw.Close()
	}
	err := <-w.res
	w.pw = nil
	if err == nil {
		w.off += w.size
		if w.prog != nil {
			w.prog(w.desc.Digest, w.off, w.desc.Size)
		}
	}
	return err
}

func (w *blobWriter) Commit(ctx context.Context) error {
	if w.done {
		return nil
	}
	if w.pw != nil && w.left > 0 {
		_ = w.wait()
		return fmt.Errorf("instance %s: blob %s: the source ended before the blob's %d bytes", w.in.name, w.desc.Digest, w.desc.Size)
	}
	if w.pw == nil {
		if w.off < w.desc.Size {
			return fmt.Errorf("instance %s: blob %s: the source ended before the blob's %d bytes", w.in.name, w.desc.Digest, w.desc.Size)
		}
		// nothing left to send (an empty blob, or a resumed session that
		// has it all): the closing request carries no bytes
		if err := w.begin(); err != nil {
			return err
		}
	}
	err := w.wait()
	if !w.whole && (statusOf(err) >= 400 || err == nil) {
		// Stored, or refused as a whole: this session is over either way.
		_ = os.Remove(w.state)
	}
	if statusOf(err) == http.StatusBadRequest {
		return &mapped{fmt.Sprintf("instance %s: blob %s: the registry refused its content (digest or size mismatch on the wire); nothing was stored", w.in.name, w.desc.Digest),
			&swreg.DigestMismatchError{Expected: w.desc.Digest}}
	}
	if err != nil {
		return w.in.wrap(err)
	}
	w.done = true
	return nil
}

var octetStream = http.Header{"Content-Type": {"application/octet-stream"}}

// Close keeps the session (and its state file) for a later resume: a
// request still in flight is cut short (a registry that keeps what arrived
// of it, as a swcli server on a filesystem store does, resumes from there).
func (w *blobWriter) Close() error {
	if w.pw != nil {
		_ = w.pw.CloseWithError(errShortBlob)
		<-w.res
		w.pw = nil
	}
	return nil
}

func (w *blobWriter) abs(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	b, _ := url.Parse(w.in.base + "/")
	return b.ResolveReference(u).String()
}

// do sends one request of n body bytes through the oras auth client
// (challenges and credentials are oras-go's).
func (w *blobWriter) do(method, u string, body io.Reader, n int64, h http.Header) (*http.Response, error) {
	if n == 0 {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(w.ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.ContentLength = n
	resp, err := w.in.client.Do(req)
	if err != nil {
		if w.ctx.Err() != nil {
			return nil, w.ctx.Err()
		}
		return nil, w.in.wrap(err)
	}
	return resp, nil
}

// check closes resp and, unless its status is one of ok, returns the
// registry's error as an errcode.ErrorResponse (as oras reports them), so
// callers map it as they map oras' (Instance.wrap).
func (w *blobWriter) check(resp *http.Response, ok ...int) error {
	defer resp.Body.Close()
	if slices.Contains(ok, resp.StatusCode) {
		return nil
	}
	return errorResponse(resp)
}
