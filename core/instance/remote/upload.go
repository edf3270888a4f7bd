package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/swcli/swcli/core/instance"
	swreg "github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/internal/atomicfile"
)

// ChunkSize is how much of a blob one PATCH sends. A killed upload resends
// at most what it had buffered (less than one chunk). A blob of at most one
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
// A blob of at most one chunk has nothing to resume inside: it is buffered
// and sent whole on Commit, with no session and no state file: to a swcli
// server in one POST ?digest= (the spec's single-request monolithic upload),
// to another registry as POST then PUT (what every registry takes).
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
		if off, ok := w.remoteOffset(st); ok {
			w.loc, w.off = st.Location, off
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
			if resp, err := w.do("DELETE", st.Location, nil, nil); err == nil {
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
	// whole: the blob is at most one chunk, buffered and sent on Commit
	// without a session
	whole bool

	loc string // the session's upload URL
	off int64  // bytes the registry holds
	buf bytes.Buffer
	// sending is the chunk in flight (its PATCH runs while the next chunk
	// fills buf); nil when none. Chunks are sent one after the other.
	sending chan error
	spare   bytes.Buffer
	done    bool
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
	resp, err := w.do("GET", st.Location, nil, nil)
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
	resp, err := w.do("POST", w.in.base+"/v2/"+w.repo+"/blobs/uploads/", nil, nil)
	if err != nil {
		return err
	}
	if err := w.check(resp, http.StatusAccepted); err != nil {
		return w.in.wrap(err)
	}
	w.loc, w.off = w.abs(resp.Header.Get("Location")), 0
	return nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	if w.whole {
		return w.buf.Write(p)
	}
	n := len(p)
	for len(p) > 0 {
		room := int(w.chunk) - w.buf.Len()
		take := min(room, len(p))
		w.buf.Write(p[:take])
		p = p[take:]
		if int64(w.buf.Len()) >= w.chunk {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// flush sends the buffer as one PATCH in the background (the caller fills
// the other buffer meanwhile), after the chunk before it is through.
func (w *blobWriter) flush() error {
	if err := w.wait(); err != nil {
		return err
	}
	if w.buf.Len() == 0 {
		return nil
	}
	w.buf, w.spare = w.spare, w.buf
	w.buf.Reset()
	w.sending = make(chan error, 1)
	go func() { w.sending <- w.send(w.spare.Bytes()) }()
	return nil
}

// wait is the end of the chunk in flight.
func (w *blobWriter) wait() error {
	if w.sending == nil {
		return nil
	}
	err := <-w.sending
	w.sending = nil
	return err
}

// send PATCHes one chunk and records the new offset.
func (w *blobWriter) send(chunk []byte) error {
	n := int64(len(chunk))
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Range", fmt.Sprintf("%d-%d", w.off, w.off+n-1))
	resp, err := w.do("PATCH", w.loc, chunk, h)
	if err != nil {
		return err
	}
	if err := w.check(resp, http.StatusAccepted, http.StatusNoContent); err != nil {
		return w.in.wrap(err)
	}
	w.off += n
	if loc := resp.Header.Get("Location"); loc != "" && w.abs(loc) != w.loc {
		// the registry moved the session (distribution puts its state in
		// the URL): remember where
		w.loc = w.abs(loc)
		if err := w.save(); err != nil {
			return err
		}
	}
	if w.prog != nil {
		w.prog(w.desc.Digest, w.off, w.desc.Size)
	}
	return nil
}

func (w *blobWriter) Commit(ctx context.Context) error {
	if w.done {
		return nil
	}
	// The rest of the blob rides on the closing request (one round trip
	// less; a blob of at most one chunk is all of it, which a registry
	// streams straight into the blob, with no chunk to copy).
	if err := w.wait(); err != nil {
		return err
	}
	rest := w.buf.Bytes()
	var resp *http.Response
	var err error
	switch {
	case w.whole && w.in.api != nil:
		resp, err = w.do("POST", w.in.base+"/v2/"+w.repo+"/blobs/uploads/?digest="+url.QueryEscape(w.desc.Digest.String()), rest, octetStream)
	case w.whole:
		if err := w.open(); err != nil {
			return err
		}
		fallthrough
	default:
		u, perr := url.Parse(w.loc)
		if perr != nil {
			return perr
		}
		q := u.Query()
		q.Set("digest", w.desc.Digest.String())
		u.RawQuery = q.Encode()
		resp, err = w.do("PUT", u.String(), rest, octetStream)
	}
	if err != nil {
		return err
	}
	err = w.check(resp, http.StatusCreated, http.StatusNoContent, http.StatusOK)
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
	if w.prog != nil && len(rest) > 0 {
		w.prog(w.desc.Digest, w.off+int64(len(rest)), w.desc.Size)
	}
	return nil
}

var octetStream = http.Header{"Content-Type": {"application/octet-stream"}}

// Close keeps the session (and its state file) for a later resume, once
// the chunk in flight is through.
func (w *blobWriter) Close() error { _ = w.wait(); return nil }

func (w *blobWriter) abs(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	b, _ := url.Parse(w.in.base + "/")
	return b.ResolveReference(u).String()
}

// do sends one request through the oras auth client (challenges and
// credentials are oras-go's).
func (w *blobWriter) do(method, u string, body []byte, h http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(w.ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.ContentLength = int64(len(body))
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
	er := &errcode.ErrorResponse{Method: resp.Request.Method, URL: resp.Request.URL, StatusCode: resp.StatusCode}
	var body struct{ Errors errcode.Errors }
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body) == nil {
		er.Errors = body.Errors
	}
	return er
}
