package instance

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/registry"
)

// CopyOptions tune Copy.
type CopyOptions struct {
	// Tags are set on the version at the destination, moved from another
	// version if they are there (as build -t does).
	Tags []string
	// Force moves the source's user tags at the destination even when they
	// are on another version there (else those are kept where they are and
	// reported in CopyResult.TagsKept), and overwrites a destination file.
	Force bool
	// IgnoreTags are user tags of the source not carried to the destination.
	IgnoreTags []string
	// Progress, if set, hears each blob as it starts (done of total blobs).
	Progress func(done, total int)
	// Stored, if set, hears each blob once the destination holds it
	// (verified: copied, or found there), before the version is put; it may
	// be called from several goroutines at once. A pull uses it to unpack
	// layers as they arrive.
	Stored func(d ocispec.Descriptor)
	// Tap, if set, is asked for each blob Copy streams from its first byte
	// (not one the destination holds already, nor one that resumes a
	// partial copy) for a BlobTap that sees its bytes as they arrive; nil
	// means none for that blob. A pull uses it to unpack layers while they
	// download.
	Tap func(d ocispec.Descriptor) BlobTap
}

// BlobTap sees the bytes of one blob as Copy streams them to the
// destination. Write gets them in order and must not keep p; a Write error
// detaches the tap (the copy goes on without it). Done is called once,
// after the last Write: with nil once the destination holds the blob,
// verified, else with why not (a digest mismatch, a cut connection). A tap
// must not take the bytes for the blob's before Done(nil).
type BlobTap interface {
	io.Writer
	Done(err error)
}

// CopyResult says what Copy did.
type CopyResult struct {
	// Version is the version at the destination (its own vN and tags); in
	// JSON its fields are the result's own.
	Version
	// From is the version at the source.
	From Version `json:"from"`
	// Blobs is how many blobs the version references; Copied how many the
	// destination lacked, with BytesCopied bytes sent.
	Blobs       int   `json:"blobs"`
	Copied      int   `json:"copied"`
	BytesCopied int64 `json:"bytes_copied"`
	// TagsKept are user tags of the source that stay on another version at
	// the destination (pass Force to move them).
	TagsKept []string `json:"tags_kept,omitempty"`
}

// Copy copies the version from names in src to dst, as runtime to.Name
// (default: the source's name) in project to.Project. It is the one copy for
// every pair of places:
//
//  1. resolve the version at the source and read its manifest;
//  2. check the destination can take it (PrepareWrite);
//  3. ask the destination which of its blobs it lacks (Stat), and stream
//     only those from the source, each from where an earlier interrupted copy
//     stopped (Writer.Offset → Get at that offset); the destination verifies
//     every digest on Commit. Several blobs move at once when both places
//     say they can (ConcurrentBlobs), so small layers do not wait on each
//     other's round trips;
//  4. put the manifest as a version at the destination (it gets its own vN;
//     latest moves to it; opts.Tags are set);
//  5. carry the source's user tags (but opts.IgnoreTags): a tag that is on another version at the
//     destination stays there unless opts.Force. A destination without tags
//     (a .swrt file) drops them.
//
// A failure before step 4 leaves the destination without the version (some
// blobs may be there, which the next copy reuses and GC frees otherwise).
func Copy(ctx context.Context, src Place, from Ref, dst Place, to Ref, opts CopyOptions) (CopyResult, error) {
	if err := registry.CheckUserTags(opts.Tags); err != nil {
		return CopyResult{}, err
	}
	v, err := src.Resolve(ctx, from, false)
	if err != nil {
		return CopyResult{}, err
	}
	raw, err := src.Manifest(ctx, v)
	if err != nil {
		return CopyResult{}, err
	}
	m, err := bundle.ParseManifest(raw)
	if err != nil {
		return CopyResult{}, err
	}
	if to.Name == "" {
		to.Name = v.Name
	}
	to.Project = project(to.Project)
	if err := dst.PrepareWrite(ctx, to, opts.Force); err != nil {
		return CopyResult{}, err
	}
	blobs := append([]ocispec.Descriptor{m.Config}, m.Layers...)
	res := CopyResult{From: v, Blobs: len(blobs)}
	if err := copyBlobs(ctx, src, dst, blobs, opts, &res); err != nil {
		return res, err
	}
	nv, err := dst.PutManifest(ctx, to.Project, to.Name, raw, opts.Tags)
	if err != nil {
		return res, err
	}
	res.Version = nv
	at := Ref{Project: nv.Project, Name: nv.Name, Version: string(nv.Digest)}
	for _, t := range v.Tags {
		if registry.CheckUserTags([]string{t}) != nil || slices.Contains(nv.Tags, t) {
			continue // latest, vN: the destination gives its own
		}
		if slices.Contains(opts.IgnoreTags, t) {
			continue
		}
		tv, err := dst.Tag(ctx, at, []string{t}, opts.Force)
		var te *registry.TagExistsError
		var ue *UnsupportedError
		switch {
		case errors.As(err, &ue):
			return res, nil
		case errors.As(err, &te):
			res.TagsKept = append(res.TagsKept, t)
		case err != nil:
			return res, err
		default:
			res.Version = tv
		}
	}
	return res, nil
}

// ConcurrentBlobs is a Place whose blob operations (Stat, Get, Writer and
// the writers it gives) may run for different blobs at the same time, from
// several goroutines. BlobConcurrency is how many blobs it moves well at
// once. A place that is not one (a .swrt file, written as one stream) gets
// one blob at a time.
type ConcurrentBlobs interface {
	BlobConcurrency() int
}

func concurrency(p Place) int {
	if c, ok := p.(ConcurrentBlobs); ok {
		return max(c.BlobConcurrency(), 1)
	}
	return 1
}

// copyBlobs moves the blobs dst lacks, up to the concurrency both places
// take at once, counting them in res; the first failure stops the others.
// The largest blobs start first, so the longest transfer does not start
// last and leave the others idle while it runs alone.
func copyBlobs(ctx context.Context, src, dst Place, blobs []ocispec.Descriptor, opts CopyOptions, res *CopyResult) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(min(concurrency(src), concurrency(dst)))
	var mu sync.Mutex
	started := 0
	order := slices.Clone(blobs)
	slices.SortStableFunc(order, func(a, b ocispec.Descriptor) int { return cmp.Compare(b.Size, a.Size) })
	for _, d := range order {
		g.Go(func() error {
			mu.Lock()
			if opts.Progress != nil {
				opts.Progress(started, len(blobs))
			}
			started++
			mu.Unlock()
			if _, err := dst.Stat(gctx, d.Digest); err != nil {
				if !isBlobUnknown(err) {
					return err
				}
				n, err := copyBlob(gctx, src, dst, d, opts.Tap)
				if err != nil {
					return fmt.Errorf("copy blob %s: %w", d.Digest.Encoded()[:12], err)
				}
				mu.Lock()
				res.Copied++
				res.BytesCopied += n
				mu.Unlock()
			}
			if opts.Stored != nil {
				opts.Stored(d)
			}
			return nil
		})
	}
	return g.Wait()
}

// copyBuffer is the buffer one blob streams through: large, so a fast
// link moves a blob in few reads and writes.
const copyBuffer = 1 << 20

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBuffer); return &b }}

// copyBlob streams one blob from src to dst, resuming where dst has part of
// it, and returns the bytes sent. A blob streamed from its first byte also
// goes to tap's BlobTap, if it gives one.
func copyBlob(ctx context.Context, src, dst Place, d ocispec.Descriptor, tap func(ocispec.Descriptor) BlobTap) (n int64, err error) {
	w, err := dst.Writer(ctx, d)
	if err != nil {
		return 0, err
	}
	defer w.Close()
	off := w.Offset()
	var to io.Writer = w
	if tap != nil && off == 0 {
		if t := tap(d); t != nil {
			defer func() { t.Done(err) }()
			to = &tee{w: w, t: t}
		}
	}
	if off < d.Size {
		rc, err := src.Get(ctx, d.Digest, off)
		if err != nil {
			return 0, err
		}
		buf := copyBuffers.Get().(*[]byte)
		n, err = io.CopyBuffer(to, &ctxReader{ctx: ctx, r: rc}, *buf)
		copyBuffers.Put(buf)
		rc.Close()
		if err != nil {
			return n, err
		}
	}
	return n, w.Commit(ctx)
}

// tee writes to the blob writer w and then to the tap t, until t fails.
type tee struct {
	w    io.Writer
	t    BlobTap
	dead bool
}

func (t *tee) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if !t.dead && n > 0 {
		if _, terr := t.t.Write(p[:n]); terr != nil {
			t.dead = true
		}
	}
	return n, err
}

// ctxReader stops a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
