package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/swcli/swcli/core/store"
)

// Upload sessions of the OCI push API live in the store, so a session
// started through one server can be continued and finished through another
// sharing the store, and survives a restart of either side. A session keeps
// its bytes in one of two layouts, chosen when it starts and recorded in
// the session record:
//
//	uploads/<id>/session                         JSON {"project","name","started","layout"}
//	uploads/<id>/data                            "append": the bytes received, one growing value
//	uploads/<id>/chunks/<offset, 20 digits>      chunks (no layout): the bytes received from offset
//	uploads/<id>/hash/sha256/<end, 20 digits>    the sha256 state after the bytes up to end
//
// The append layout is for stores that can grow a value in place
// (store.Appender: the filesystem store): every chunk is appended to the
// data value, and finishing seals it into the blob key (a rename on the
// filesystem), so each byte is written once. The store orders appends (one
// at a time, each at the length it expects), so two writers racing for the
// same offset cannot both win; a chunk cut short keeps what arrived (the
// session's size says how much, and the client resumes from there).
//
// Other stores (S3) get the chunk layout: each chunk is one atomic Put
// created with IfNoneMatch, so a chunk cut short is not stored at all and
// the session's size is always the sum of complete chunks; finishing
// composes the chunks into the blob key (store.ComposeOf: a streaming copy,
// or the store's own Composer).
//
// Either way a chunk is hashed while it streams in, continuing the saved
// state of the bytes before it, and the marshalled state
// (encoding.BinaryMarshaler) is saved after the chunk, so finishing does
// not read the bytes again. The state is a cache of what the bytes say:
// bytes before a saved state's end never change (chunks are never changed
// once stored; appends only add at the end), so the state at such an end
// is a fact about the session, for as long as the bytes stay: for ever for
// chunks, for the store's epoch for appended bytes (they are synced once,
// when the blob is sealed; a machine crash before may garble them, and
// the state says the epoch it was saved in). A state lost to a crash
// between the two writes (or a failed write), one that is past the
// session's end or (chunks) not at a chunk boundary, of another epoch, or
// that does not parse, is ignored and the bytes after the last good state
// are re-hashed; a sha512 upload (no saved states) is re-hashed whole. Finishing then links the blob in the session's
// repository and deletes the session.

// Upload is the state of an upload session.
type Upload struct {
	ID      string    `json:"-"`
	Project string    `json:"project"`
	Name    string    `json:"name"`
	Started time.Time `json:"started"`
	// Layout is how the session keeps its bytes: layoutAppend, or "" for
	// one key per chunk (see above).
	Layout string `json:"layout,omitempty"`
	// Size is the number of bytes received so far.
	Size int64 `json:"-"`
}

// UploadUnknownError says there is no upload session id (never started,
// finished, cancelled, or of another repository).
type UploadUnknownError struct{ ID string }

func (e *UploadUnknownError) Error() string { return fmt.Sprintf("upload %s not found", e.ID) }

// UploadRangeError says a chunk does not start where the session ends.
type UploadRangeError struct {
	ID     string
	Size   int64 // bytes received so far: the next chunk starts here
	Offset int64 // where the rejected chunk starts
}

func (e *UploadRangeError) Error() string {
	return fmt.Sprintf("upload %s: chunk starts at %d, the upload has %d bytes", e.ID, e.Offset, e.Size)
}

var uploadIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func uploadPrefix(id string) string { return "uploads/" + id + "/" }
func dataKey(id string) string      { return uploadPrefix(id) + "data" }

// layoutAppend: the session's bytes are one growing value (store.Appender).
const layoutAppend = "append"

func chunkKey(id string, off int64) string {
	return fmt.Sprintf("%schunks/%020d", uploadPrefix(id), off)
}

// stateAlg is the algorithm whose running state is saved with the chunks:
// the one nearly every client uses.
const stateAlg = digest.SHA256

func statePrefix(id string) string { return uploadPrefix(id) + "hash/" + string(stateAlg) + "/" }
func stateKey(id string, end int64) string {
	return fmt.Sprintf("%s%020d", statePrefix(id), end)
}

// StartUpload opens an upload session for a blob of project/name.
func (r *Registry) StartUpload(ctx context.Context, project, name string) (Upload, error) {
	if err := checkNames(project, name); err != nil {
		return Upload{}, err
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Upload{}, err
	}
	u := Upload{ID: hex.EncodeToString(b[:]), Project: project, Name: name, Started: r.now()}
	if _, ok := r.s.(store.Appender); ok {
		u.Layout = layoutAppend
	}
	if err := r.putJSON(ctx, uploadPrefix(u.ID)+"session", u, store.PutOptions{IfNoneMatch: true}); err != nil {
		return Upload{}, fmt.Errorf("registry: start upload: %w", err)
	}
	return u, nil
}

// GetUpload returns session id of project/name with the bytes received so
// far, or *UploadUnknownError. In the append layout a chunk still being
// received (its client just went away, and the server is taking in what
// is left in flight) is waited for, so a client resuming is told where
// the session really ends, not where it ended a moment ago.
func (r *Registry) GetUpload(ctx context.Context, project, name, id string) (Upload, error) {
	u, _, err := r.upload(ctx, project, name, id)
	if err != nil || u.Layout != layoutAppend || u.Size == 0 {
		return u, err // (at 0 a client starts over anyway: "0-0" tells nothing)
	}
	// An Append of no bytes at the length waits for the one running, then
	// says the length it left (store.Appender).
	_, err = r.s.(store.Appender).Append(ctx, dataKey(id), u.Size, bytes.NewReader(nil))
	var se *store.SizeError
	switch {
	case errors.As(err, &se):
		u.Size = se.Size
	case err != nil:
		return u, fmt.Errorf("registry: upload %s: %w", id, err)
	}
	return u, nil
}

// upload reads the session and the offsets of its chunks (none in the
// append layout).
func (r *Registry) upload(ctx context.Context, project, name, id string) (Upload, []int64, error) {
	if !uploadIDRE.MatchString(id) {
		return Upload{}, nil, &UploadUnknownError{ID: id}
	}
	var u Upload
	err := r.readJSON(ctx, uploadPrefix(id)+"session", &u)
	if isNotFound(err) || (err == nil && (u.Project != project || u.Name != name)) {
		return Upload{}, nil, &UploadUnknownError{ID: id}
	}
	if err != nil {
		return Upload{}, nil, err
	}
	u.ID = id
	if u.Layout == layoutAppend {
		if _, ok := r.s.(store.Appender); !ok {
			return Upload{}, nil, fmt.Errorf("registry: upload %s keeps its bytes in one growing value, which this store cannot append to", id)
		}
		info, err := r.s.Stat(ctx, dataKey(id))
		switch {
		case err == nil:
			u.Size = info.Size
		case !isNotFound(err): // no byte received yet
			return Upload{}, nil, fmt.Errorf("registry: upload %s: %w", id, err)
		}
		return u, nil, nil
	}
	var offs []int64
	err = r.s.List(ctx, uploadPrefix(id)+"chunks/", func(info store.Info) error {
		off, err := strconv.ParseInt(info.Key[strings.LastIndexByte(info.Key, '/')+1:], 10, 64)
		if err != nil || off != u.Size {
			return fmt.Errorf("registry: upload %s: corrupt chunk %s", id, info.Key)
		}
		offs = append(offs, off)
		u.Size += info.Size
		return nil
	})
	return u, offs, err
}

// AppendUpload stores the bytes of rd as the next chunk of session id. With
// offset >= 0 the chunk must start there (*UploadRangeError otherwise); -1
// appends at the end. A read error of rd stores nothing of the chunk in the
// chunk layout and keeps what arrived in the append layout; the returned
// Upload's Size says which, with the error.
func (r *Registry) AppendUpload(ctx context.Context, project, name, id string, offset int64, rd io.Reader) (Upload, error) {
	return r.AppendUploadSized(ctx, project, name, id, offset, rd, -1)
}

// AppendUploadSized is AppendUpload of a chunk whose size the caller knows
// (size >= 0: the request's Content-Length; -1: unknown). In the chunk
// layout the store then streams it on as it arrives (store.PutSized: on S3
// the host sends it to S3 itself, not through the plugin); a chunk of
// another length stores nothing, as one cut short.
func (r *Registry) AppendUploadSized(ctx context.Context, project, name, id string, offset int64, rd io.Reader, size int64) (Upload, error) {
	u, offs, err := r.upload(ctx, project, name, id)
	if err != nil {
		return u, err
	}
	if offset >= 0 && offset != u.Size {
		return u, &UploadRangeError{ID: id, Size: u.Size, Offset: offset}
	}
	h, err := r.uploadHash(ctx, u, offs, stateAlg)
	if err != nil {
		return u, err
	}
	// peek one byte: an empty chunk stores nothing
	var first [1]byte
	n, err := io.ReadFull(rd, first[:])
	if n == 0 {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return u, nil
		}
		return u, err
	}
	body := io.TeeReader(io.MultiReader(bytes.NewReader(first[:]), rd), h)
	if u.Layout == layoutAppend {
		return r.appendData(ctx, r.s.(store.Appender), u, body, h)
	}
	cr := &countingReader{r: body}
	err = store.PutSized(ctx, r.s, chunkKey(id, u.Size), cr, size, store.PutOptions{IfNoneMatch: true})
	if isPrecondition(err) {
		// another writer got this offset first
		now, _, rerr := r.upload(ctx, project, name, id)
		if rerr != nil {
			return u, rerr
		}
		return now, &UploadRangeError{ID: id, Size: now.Size, Offset: u.Size}
	}
	if err != nil {
		return u, fmt.Errorf("registry: upload %s: %w", id, err)
	}
	u.Size += cr.n
	// The chunk is stored: the upload has it whatever happens next. A
	// state that fails to save only costs a re-hash later, so its error
	// is not the client's.
	_ = r.saveState(ctx, u, u.Size, h)
	return u, nil
}

// appendData appends body (teed into h, which holds the state at u.Size)
// to the session's data value.
func (r *Registry) appendData(ctx context.Context, app store.Appender, u Upload, body io.Reader, h hash.Hash) (Upload, error) {
	n, err := app.Append(ctx, dataKey(u.ID), u.Size, body)
	var se *store.SizeError
	if errors.As(err, &se) {
		// another writer appended first
		return Upload{ID: u.ID, Project: u.Project, Name: u.Name, Started: u.Started, Layout: u.Layout, Size: se.Size},
			&UploadRangeError{ID: u.ID, Size: se.Size, Offset: u.Size}
	}
	if n > 0 {
		// The bytes are stored (and durable): h has hashed exactly them,
		// also when reading the body failed after them. As with chunks, a
		// state that fails to save only costs a re-hash.
		u.Size += n
		_ = r.saveState(ctx, u, u.Size, h)
	}
	if err != nil {
		return u, fmt.Errorf("registry: upload %s: %w", u.ID, err)
	}
	return u, nil
}

// saveState stores h, the state after the bytes of session u up to end.
// The value is the end offset (8 bytes, big endian), the epoch of the
// bytes (a length byte, then the store's Appender.Epoch for the append
// layout, "" for chunks), then the marshalled state: a state copied under
// another name is recognised as not its boundary's, and one of an epoch
// that has ended as possibly no longer true. In the append layout the
// state is itself appended (no flush of the disk per chunk: it is no more
// durable than the bytes it describes, and the epoch says when both may
// have gone); a state already there (another writer's, of the same bytes)
// stays.
func (r *Registry) saveState(ctx context.Context, u Upload, end int64, h hash.Hash) error {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil
	}
	state, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	epoch := r.epoch(u)
	buf := binary.BigEndian.AppendUint64(nil, uint64(end))
	buf = append(append(append(buf, byte(len(epoch))), epoch...), state...)
	if u.Layout == layoutAppend {
		_, err = r.s.(store.Appender).Append(ctx, stateKey(u.ID, end), 0, bytes.NewReader(buf))
		if se := (*store.SizeError)(nil); errors.As(err, &se) {
			return nil
		}
		return err
	}
	err = r.s.Put(ctx, stateKey(u.ID, end), bytes.NewReader(buf), store.PutOptions{IfNoneMatch: true})
	if isPrecondition(err) {
		return nil // another writer saved the same fact
	}
	return err
}

// epoch is the span in which facts about u's bytes hold: the store's
// Appender.Epoch for the append layout; chunks are durable once stored.
func (r *Registry) epoch(u Upload) string {
	if u.Layout == layoutAppend {
		return r.s.(store.Appender).Epoch()
	}
	return ""
}

// loadState returns a hash of stateAlg holding the saved state of session
// u at end, or nil when there is none usable.
func (r *Registry) loadState(ctx context.Context, u Upload, end int64) hash.Hash {
	rc, err := r.s.Get(ctx, stateKey(u.ID, end), 0, -1)
	if err != nil {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(rc, 1<<10))
	_ = rc.Close()
	if err != nil || len(b) < 9 || binary.BigEndian.Uint64(b) != uint64(end) {
		return nil
	}
	n := int(b[8])
	if len(b) < 9+n || string(b[9:9+n]) != r.epoch(u) {
		return nil
	}
	h := stateAlg.Hash()
	um, ok := h.(encoding.BinaryUnmarshaler)
	if !ok || um.UnmarshalBinary(b[9+n:]) != nil {
		return nil
	}
	return h
}

// uploadHash returns a hash of alg that has hashed the session's u.Size
// bytes: from the last usable saved state at a boundary (a chunk's end, or
// any length up to u.Size in the append layout), then re-hashing the bytes
// after it (all of them when there is none).
func (r *Registry) uploadHash(ctx context.Context, u Upload, offs []int64, alg digest.Algorithm) (hash.Hash, error) {
	end := func(i int) int64 {
		if i+1 < len(offs) {
			return offs[i+1]
		}
		return u.Size
	}
	var h hash.Hash
	var from int64 // the bytes h has hashed
	if alg == stateAlg && u.Size > 0 {
		var saved []int64 // ends with a state, ascending
		err := r.s.List(ctx, statePrefix(u.ID), func(info store.Info) error {
			if off, err := strconv.ParseInt(info.Key[len(statePrefix(u.ID)):], 10, 64); err == nil {
				saved = append(saved, off)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("registry: upload %s: %w", u.ID, err)
		}
		boundary := func(e int64) bool { return e <= u.Size }
		if u.Layout != layoutAppend {
			ends := map[int64]bool{}
			for i := range offs {
				ends[end(i)] = true
			}
			boundary = func(e int64) bool { return ends[e] }
		}
		for i := len(saved) - 1; i >= 0 && h == nil; i-- {
			if boundary(saved[i]) {
				if h = r.loadState(ctx, u, saved[i]); h != nil {
					from = saved[i]
				}
			}
		}
	}
	if h == nil {
		h = alg.Hash()
	}
	rehash := func(key string, off, n int64) error {
		rc, err := r.s.Get(ctx, key, off, n)
		if err != nil {
			return fmt.Errorf("registry: upload %s: %w", u.ID, err)
		}
		_, err = io.Copy(h, rc)
		_ = rc.Close()
		if err != nil {
			return fmt.Errorf("registry: upload %s: %w", u.ID, err)
		}
		return nil
	}
	if u.Layout == layoutAppend {
		if from < u.Size {
			if err := rehash(dataKey(u.ID), from, u.Size-from); err != nil {
				return nil, err
			}
		}
		return h, nil
	}
	for i, off := range offs {
		if off >= from {
			if err := rehash(chunkKey(u.ID, off), 0, end(i)-off); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// FinishUpload checks that session id's bytes hash to d, stores them as blob
// d (once: a blob already stored is only verified), links it in the
// session's repository and deletes the session. A mismatch gives
// *DigestMismatchError and keeps the session.
func (r *Registry) FinishUpload(ctx context.Context, project, name, id string, d digest.Digest) (ocispec.Descriptor, error) {
	if err := checkDigest(d); err != nil {
		return ocispec.Descriptor{}, err
	}
	u, offs, err := r.upload(ctx, project, name, id)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	h, err := r.uploadHash(ctx, u, offs, d.Algorithm())
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if actual := digest.NewDigest(d.Algorithm(), h); actual != d {
		return ocispec.Descriptor{}, &DigestMismatchError{Expected: d, Actual: actual}
	}
	desc := ocispec.Descriptor{Digest: d, Size: u.Size}
	size, err := r.BlobSize(ctx, d)
	var bu *BlobUnknownError
	switch {
	case errors.As(err, &bu):
		if err := r.storeUpload(ctx, u, offs, d); err != nil {
			return desc, fmt.Errorf("registry: upload %s: store blob %s: %w", id, d, err)
		}
		err = r.link(ctx, project, name, d) // just stored: no lease needed
	case err != nil:
		return desc, err
	case size != u.Size:
		return desc, fmt.Errorf("registry: blob %s: stored with %d bytes, received %d", d, size, u.Size)
	default:
		err = r.linkBlobs(ctx, project, name, []digest.Digest{d})
	}
	if err != nil {
		return desc, err
	}
	return desc, r.CancelUpload(ctx, project, name, id)
}

// storeUpload makes the session's bytes blob d: the data value sealed into
// the blob key (append layout) or the chunks composed into it.
func (r *Registry) storeUpload(ctx context.Context, u Upload, offs []int64, d digest.Digest) error {
	if u.Layout == layoutAppend { // upload checked the store can append
		if u.Size == 0 { // nothing was appended: there is no data value
			return r.s.Put(ctx, blobKey(d), bytes.NewReader(nil), store.PutOptions{})
		}
		return r.s.(store.Appender).Seal(ctx, dataKey(u.ID), u.Size, blobKey(d))
	}
	keys := make([]string, len(offs))
	for i, off := range offs {
		keys[i] = chunkKey(u.ID, off)
	}
	return store.ComposeOf(ctx, r.s, blobKey(d), keys)
}

// CancelUpload deletes session id, its bytes and their hash states.
func (r *Registry) CancelUpload(ctx context.Context, project, name, id string) error {
	if _, _, err := r.upload(ctx, project, name, id); err != nil {
		return err
	}
	var keys []string
	err := r.s.List(ctx, uploadPrefix(id), func(info store.Info) error {
		if info.Key != uploadPrefix(id)+"session" {
			keys = append(keys, info.Key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := r.s.Delete(ctx, k); err != nil {
			return err
		}
	}
	return r.s.Delete(ctx, uploadPrefix(id)+"session")
}

// PutRepoBlob stores rd as blob d and links it in project/name (a
// monolithic OCI upload). The content is always hashed, even when the blob
// is already stored: a client that does not have the bytes cannot link a
// blob it only knows the digest of. A mismatch gives *DigestMismatchError.
func (r *Registry) PutRepoBlob(ctx context.Context, project, name string, rd io.Reader, d digest.Digest) (ocispec.Descriptor, error) {
	return r.PutRepoBlobSized(ctx, project, name, rd, d, -1)
}

// PutRepoBlobSized is PutRepoBlob of a blob whose size the caller knows
// (size >= 0: the request's Content-Length; -1: unknown). The store then
// streams the bytes on as they arrive (store.PutSized: on S3 one PutObject
// while the client is still sending, instead of receiving the blob into
// memory first); the digest is still checked before the blob exists, and
// a body of another length stores nothing.
func (r *Registry) PutRepoBlobSized(ctx context.Context, project, name string, rd io.Reader, d digest.Digest, size int64) (ocispec.Descriptor, error) {
	if err := checkNames(project, name); err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := checkDigest(d); err != nil {
		return ocispec.Descriptor{}, err
	}
	var desc ocispec.Descriptor
	if stored, err := r.BlobSize(ctx, d); err == nil {
		dg := d.Algorithm().Digester()
		n, err := io.Copy(dg.Hash(), rd)
		if err != nil {
			return desc, fmt.Errorf("registry: put blob %s: %w", d, err)
		}
		if actual := dg.Digest(); actual != d {
			return desc, &DigestMismatchError{Expected: d, Actual: actual}
		}
		if n != stored {
			return desc, fmt.Errorf("registry: blob %s: stored with %d bytes, received %d", d, stored, n)
		}
		desc = ocispec.Descriptor{Digest: d, Size: stored}
	} else {
		var bu *BlobUnknownError
		if !errors.As(err, &bu) {
			return desc, err
		}
		if desc, err = r.putBlobExpected(ctx, rd, d, size); err != nil {
			return desc, err
		}
		// just stored (by this call, or by one racing it): no lease needed
		return desc, r.link(ctx, project, name, d)
	}
	return desc, r.linkBlobs(ctx, project, name, []digest.Digest{d})
}

// ExpireUploads deletes upload sessions started more than olderThan ago
// (and chunks left without a session by a crash), so abandoned pushes do not
// hold space forever. It returns how many sessions it deleted. Run it now
// and then (the server does, like GC); a client resuming an expired session
// gets *UploadUnknownError and starts again.
func (r *Registry) ExpireUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := r.now().Add(-olderThan)
	type sess struct {
		keys     []string
		session  bool
		youngest time.Time
	}
	byID := map[string]*sess{}
	var ids []string
	err := r.s.List(ctx, "uploads/", func(info store.Info) error {
		id, rest, _ := strings.Cut(strings.TrimPrefix(info.Key, "uploads/"), "/")
		s := byID[id]
		if s == nil {
			s = &sess{}
			byID[id] = s
			ids = append(ids, id)
		}
		s.keys = append(s.keys, info.Key)
		s.session = s.session || rest == "session"
		if info.ModTime.After(s.youngest) {
			s.youngest = info.ModTime
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		s := byID[id]
		expired := !s.youngest.After(cutoff)
		if s.session && expired {
			var u Upload
			if err := r.readJSON(ctx, uploadPrefix(id)+"session", &u); err == nil {
				expired = u.Started.Before(cutoff)
			}
		}
		if !expired {
			continue
		}
		// session key first ("session" sorts after "chunks" and "hash"): an
		// expiry cut short leaves keys without a session, which the next
		// run removes
		sort.Sort(sort.Reverse(sort.StringSlice(s.keys)))
		for _, k := range s.keys {
			if err := r.s.Delete(ctx, k); err != nil {
				return n, err
			}
		}
		n++
	}
	return n, nil
}
