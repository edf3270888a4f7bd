package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/instance/remote"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/uri"
)

// pullRemote copies the version a cloud or OCI registry URI names into the
// local store (same project; only the blobs the store lacks move, each
// verified) and returns the local URI of that version by digest, so restore,
// run, activate and extract go on as for a local version. Any other source
// is returned as it is.
//
// Pull and restore overlap: each env layer is unpacked into the layer
// cache as soon as the store holds it, while the other layers still
// download (prefill), so the restore that follows only links. A layer that
// fails to unpack here is left to the restore, which unpacks it again and
// reports the failure. With warm (the caller makes an environment next),
// the version's mode is warmed up meanwhile (warmMode).
//
// The unpacks may still run when it returns (the last bytes of the biggest
// layer, its seal): the restore goes on meanwhile, and its placement of a
// layer waits on that layer's cache lock until the unpack is done. The
// caller calls done, once, when it no longer needs the pull: it waits for
// the unpacks. After an error, nothing runs any more.
func (s *Service) pullRemote(ctx context.Context, src string, warm bool) (local string, done func(), err error) {
	done = func() {}
	if uri.IsFile(src) {
		return src, done, nil
	}
	u, err := uri.Parse(src)
	if err != nil || u.IsLocal() || u.Kind() == uri.KindProject {
		return src, done, nil // ParseRef reports what is wrong
	}
	op := s.Instances()
	from, err := op.Open(ctx, u)
	if err != nil {
		return "", nil, err
	}
	defer from.Close()
	to, err := op.Local()
	if err != nil {
		return "", nil, err
	}
	opts := instance.CopyOptions{}
	if s.Events != nil {
		opts.Progress = func(done, total int) {
			s.Events(mode.Event{Stage: "pull blobs", Current: int64(done), Total: int64(total)})
		}
		ctx = remote.WithProgress(ctx, func(d digest.Digest, done, size int64) {
			s.Events(mode.Event{Stage: "pull bytes", Message: fmt.Sprintf("%s %d of %d bytes", d.Encoded()[:12], done, size)})
		})
	}
	pctx, cancel := context.WithCancel(ctx)
	pre := s.prefill(pctx, to, warm)
	opts.Stored, opts.Tap = pre.add, pre.tap
	res, err := instance.Copy(ctx, from, instance.RefOf(u), to, instance.Ref{Project: u.Project}, opts)
	if err != nil {
		cancel()
		pre.wait()
		return "", nil, err
	}
	var once sync.Once
	done = func() { once.Do(func() { pre.wait(); cancel() }) }
	return uri.URI{Instance: uri.LocalInstance, Project: res.Version.Project, Name: res.Version.Name, Version: string(res.Version.Digest)}.String(), done, nil
}

// prefiller fills the layer cache with the env layers of a pull: a layer
// that downloads from its first byte is unpacked from the wire as it
// arrives (tap); one the store already held, or whose download resumed,
// is unpacked from the store once it is there (add), a few at a time
// (unpacking is CPU-bound: one per core).
//
// An entry from the wire is complete only once the blob proved whole: the
// unpack reads its tapBuffer to the end, and the end comes only when the copy
// has verified and stored the blob (BlobTap.Done(nil)); a digest mismatch
// or a cut download ends the buffer with that error, which fails the unpack,
// and the layer cache discards what it unpacked.
type prefiller struct {
	add  func(d ocispec.Descriptor)
	tap  func(d ocispec.Descriptor) instance.BlobTap
	wait func()
}

func isEnvLayer(d ocispec.Descriptor) bool {
	switch d.Annotations[bundle.AnnotationRole] {
	case bundle.RoleBase, bundle.RolePackage:
		return true
	}
	return false
}

func (s *Service) prefill(ctx context.Context, l *instance.Local, warm bool) prefiller {
	lc := s.unpackedLayers()
	if lc == nil {
		return prefiller{add: func(ocispec.Descriptor) {}, tap: func(ocispec.Descriptor) instance.BlobTap { return nil }, wait: func() {}}
	}
	var g errgroup.Group
	var mu sync.Mutex
	tapped := map[digest.Digest]bool{} // layers a tap unpacks (or tried: else the restore does)
	sem := make(chan struct{}, max(runtime.NumCPU(), 1))
	fill := func(d ocispec.Descriptor, how string, unpack func(dir string) error) {
		unpacked, err := lc.Fill(ctx, d.Digest, unpack)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log().Debug("layer not unpacked during the pull; the restore unpacks it", "digest", d.Digest, "error", err)
		case unpacked:
			s.log().Debug("layer unpacked during the pull", "digest", d.Digest, "size", d.Size, "from", how)
		}
	}
	return prefiller{
		tap: func(d ocispec.Descriptor) instance.BlobTap {
			if !isEnvLayer(d) {
				return nil
			}
			mu.Lock()
			tapped[d.Digest] = true
			mu.Unlock()
			buf := newTapBuffer(tapLimit(d.Size))
			g.Go(func() error {
				fill(d, "the wire", func(dir string) error {
					// The copy verifies the digest (no second hash here):
					// the unpack is good once the buffer ends cleanly.
					o := extractOptions(d)
					o.Digest, o.Verified = "", true
					if err := fillLayer(ctx, buf, dir, o); err != nil {
						return err
					}
					_, err := io.Copy(io.Discard, buf)
					return err
				})
				// Whatever happened (an entry already complete reads
				// nothing), the copy must not wait on this buffer.
				buf.CloseRead(errTapClosed)
				return nil
			})
			return &bufferTap{b: buf}
		},
		add: func(d ocispec.Descriptor) {
			if warm && d.MediaType == bundle.MediaTypeConfig {
				g.Go(func() error { s.warmMode(ctx, l, d); return nil })
			}
			if !isEnvLayer(d) {
				return
			}
			g.Go(func() error {
				mu.Lock()
				done := tapped[d.Digest]
				mu.Unlock()
				if done {
					return nil
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return nil
				}
				defer func() { <-sem }()
				fill(d, "the store", func(dir string) error {
					rc, err := l.Get(ctx, d.Digest, 0)
					if err != nil {
						return err
					}
					defer rc.Close()
					return fillLayer(ctx, rc, dir, extractOptions(d))
				})
				return nil
			})
		},
		wait: func() { _ = g.Wait() },
	}
}

var errTapClosed = errors.New("layer unpack finished")

// warmMode does, while the layers download, the mode's work for the
// pulled version that does not need them: it starts the mode's plugin and
// makes a bare environment for the version's Python in a scratch folder
// (then removed) and asks its ABI, so the per-interpreter caches a mode
// keeps under ModeCacheDir (the venv mode's skeleton and interpreter
// probe) are filled when the restore makes the real one. It only warms:
// any failure is the restore's to meet and report, so it is logged and
// dropped.
func (s *Service) warmMode(ctx context.Context, l *instance.Local, d ocispec.Descriptor) {
	if s.Modes == nil || s.StorageRoot == "" {
		return
	}
	err := func() error {
		rm, err := readConfig(ctx, l, d)
		if err != nil {
			return err
		}
		m, err := s.Modes.Mode(ctx, rm.Mode)
		if err != nil {
			return err
		}
		info, err := m.Info(ctx)
		if err != nil || info.Capabilities.SelfContained {
			return err
		}
		_, tmpRoot, err := s.Local()
		if err != nil {
			return err
		}
		scratch, err := os.MkdirTemp(tmpRoot, "warm-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(scratch)
		env := s.withCaches(mode.Env{Workdir: scratch, Prefix: PrefixOf(scratch, rm.Mode), Python: mode.Python{Version: rm.PythonVersion}})
		if err := m.Create(ctx, mode.CreateRequest{Env: env, Bare: true}, nil); err != nil {
			return err
		}
		if rm.ABI != "" {
			_, err = m.Files(ctx, mode.FilesRequest{Env: env})
		}
		return err
	}()
	if err != nil && ctx.Err() == nil {
		s.log().Debug("mode not warmed up during the pull; the restore does it", "error", err)
	}
}

// tapLimit is how many bytes of a layer may wait between its download and
// its unpack: an eighth of the layer, from 1 to 32 MiB, so a big layer's
// download runs well ahead of its file writes while the many small layers
// moving at once hold little.
func tapLimit(size int64) int {
	return int(min(max(size/8, 1<<20), 32<<20))
}

// bufferTap is a BlobTap feeding the unpack of a layer through a
// tapBuffer: the unpack sees the end of the layer only on Done(nil).
type bufferTap struct{ b *tapBuffer }

func (t *bufferTap) Write(p []byte) (int, error) { return t.b.Write(p) }

func (t *bufferTap) Done(err error) { t.b.CloseWrite(err) }
