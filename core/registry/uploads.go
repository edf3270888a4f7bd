package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
// sharing the store, and survives a restart of either side:
//
//	uploads/<id>/session                  JSON {"project","name","started"}
//	uploads/<id>/chunks/<offset, 20 digits>   the bytes received from offset
//
// Each chunk is one atomic Put created with IfNoneMatch: a chunk cut short
// (client or server killed) is not stored at all, so the session's size is
// always the sum of complete chunks and a client resumes from there; two
// writers racing for the same offset cannot both win. Finishing hashes the
// chunks in order while streaming them into the blob, then links the blob
// in the session's repository and deletes the session.

// Upload is the state of an upload session.
type Upload struct {
	ID      string    `json:"-"`
	Project string    `json:"project"`
	Name    string    `json:"name"`
	Started time.Time `json:"started"`
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
func chunkKey(id string, off int64) string {
	return fmt.Sprintf("%schunks/%020d", uploadPrefix(id), off)
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
	if err := r.putJSON(ctx, uploadPrefix(u.ID)+"session", u, store.PutOptions{IfNoneMatch: true}); err != nil {
		return Upload{}, fmt.Errorf("registry: start upload: %w", err)
	}
	return u, nil
}

// GetUpload returns session id of project/name with the bytes received so
// far, or *UploadUnknownError.
func (r *Registry) GetUpload(ctx context.Context, project, name, id string) (Upload, error) {
	u, _, err := r.upload(ctx, project, name, id)
	return u, err
}

// upload reads the session and the offsets of its chunks.
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
// appends at the end. A read error of rd stores nothing of the chunk.
func (r *Registry) AppendUpload(ctx context.Context, project, name, id string, offset int64, rd io.Reader) (Upload, error) {
	u, _, err := r.upload(ctx, project, name, id)
	if err != nil {
		return u, err
	}
	if offset >= 0 && offset != u.Size {
		return u, &UploadRangeError{ID: id, Size: u.Size, Offset: offset}
	}
	cr := &countingReader{r: rd}
	// peek one byte: an empty chunk stores nothing
	var first [1]byte
	n, err := io.ReadFull(rd, first[:])
	if n == 0 {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return u, nil
		}
		return u, err
	}
	cr.r = io.MultiReader(bytes.NewReader(first[:]), rd)
	err = r.s.Put(ctx, chunkKey(id, u.Size), cr, store.PutOptions{IfNoneMatch: true})
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
	return u, nil
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
	cr := &chunkReader{ctx: ctx, s: r.s, id: id, offs: offs}
	defer cr.Close()
	desc, err := r.PutRepoBlob(ctx, project, name, cr, d)
	if err != nil {
		return desc, err
	}
	if desc.Size != u.Size {
		return desc, fmt.Errorf("registry: upload %s: %d bytes received, blob is %d", id, u.Size, desc.Size)
	}
	return desc, r.CancelUpload(ctx, project, name, id)
}

// chunkReader reads the chunks of an upload in order, opening one at a time.
type chunkReader struct {
	ctx  context.Context
	s    store.Store
	id   string
	offs []int64
	cur  io.ReadCloser
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			if len(c.offs) == 0 {
				return 0, io.EOF
			}
			rc, err := c.s.Get(c.ctx, chunkKey(c.id, c.offs[0]), 0, -1)
			if err != nil {
				return 0, err
			}
			c.cur, c.offs = rc, c.offs[1:]
		}
		n, err := c.cur.Read(p)
		if err == io.EOF {
			_ = c.cur.Close()
			c.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (c *chunkReader) Close() error {
	if c.cur != nil {
		return c.cur.Close()
	}
	return nil
}

// CancelUpload deletes session id and its chunks.
func (r *Registry) CancelUpload(ctx context.Context, project, name, id string) error {
	if _, _, err := r.upload(ctx, project, name, id); err != nil {
		return err
	}
	var keys []string
	err := r.s.List(ctx, uploadPrefix(id)+"chunks/", func(info store.Info) error {
		keys = append(keys, info.Key)
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
	if err := checkNames(project, name); err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := checkDigest(d); err != nil {
		return ocispec.Descriptor{}, err
	}
	var desc ocispec.Descriptor
	if size, err := r.BlobSize(ctx, d); err == nil {
		dg := d.Algorithm().Digester()
		n, err := io.Copy(dg.Hash(), rd)
		if err != nil {
			return desc, fmt.Errorf("registry: put blob %s: %w", d, err)
		}
		if actual := dg.Digest(); actual != d {
			return desc, &DigestMismatchError{Expected: d, Actual: actual}
		}
		if n != size {
			return desc, fmt.Errorf("registry: blob %s: stored with %d bytes, received %d", d, size, n)
		}
		desc = ocispec.Descriptor{Digest: d, Size: size}
	} else {
		var bu *BlobUnknownError
		if !errors.As(err, &bu) {
			return desc, err
		}
		if desc, err = r.putBlobExpected(ctx, rd, d); err != nil {
			return desc, err
		}
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
		sort.Sort(sort.Reverse(sort.StringSlice(s.keys))) // session key last
		for _, k := range s.keys {
			if err := r.s.Delete(ctx, k); err != nil {
				return n, err
			}
		}
		n++
	}
	return n, nil
}
