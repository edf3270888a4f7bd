package main

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

func TestRtZstd(t *testing.T) {
	r := rtExisting(t)
	sp := filepath.Join(r.prefix, "lib/python3.11/site-packages")
	var files []string
	filepath.WalkDir(filepath.Join(sp, "torchlike"), func(p string, d os.DirEntry, err error) error {
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	variants := []struct {
		name string
		opts []zstd.EOption
	}{
		{"c1", []zstd.EOption{zstd.WithEncoderConcurrency(1)}},
		{"c2", []zstd.EOption{zstd.WithEncoderConcurrency(2)}},
		{"c2blocks", []zstd.EOption{zstd.WithEncoderConcurrency(2), zstd.WithConcurrentBlocks(true)}},
		{"c4blocks", []zstd.EOption{zstd.WithEncoderConcurrency(4), zstd.WithConcurrentBlocks(true)}},
		{"c1fastest", []zstd.EOption{zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest)}},
		{"c2fastest", []zstd.EOption{zstd.WithEncoderConcurrency(2), zstd.WithEncoderLevel(zstd.SpeedFastest)}},
	}
	buf := make([]byte, 1<<20)
	for _, tofile := range []bool{false, true} {
		for _, v := range variants {
			opts := append([]zstd.EOption{zstd.WithWindowSize(8 << 20), zstd.WithEncoderCRC(true), zstd.WithZeroFrames(true), zstd.WithAllLitEntropyCompression(false), zstd.WithNoEntropyCompression(false), zstd.WithLowerEncoderMem(false)}, v.opts...)
			if len(v.opts) == 1 || v.opts[1] == nil {
			}
			opts = append([]zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault)}, opts...)
			enc, err := zstd.NewWriter(nil, opts...)
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			var w io.Writer = io.Discard
			var f *os.File
			if tofile {
				f, _ = os.Create(filepath.Join(r.out, "zz.tmp"))
				w = f
			}
			h := sha256.New()
			cw := &countWriter2{w: io.MultiWriter(w, h)}
			enc.Reset(cw)
			tw := tar.NewWriter(enc)
			for _, p := range files {
				fi, _ := os.Stat(p)
				tw.WriteHeader(&tar.Header{Name: p, Size: fi.Size(), Mode: 0o644, Typeflag: tar.TypeReg})
				src, _ := os.Open(p)
				io.CopyBuffer(tw, onlyReader{src}, buf)
				src.Close()
			}
			tw.Close()
			enc.Close()
			if f != nil {
				f.Close()
			}
			t.Logf("file=%v %s: %s size %d digest %x", tofile, v.name, time.Since(t0), cw.n, h.Sum(nil)[:6])
		}
	}
	os.Remove(filepath.Join(r.out, "zz.tmp"))
}

type onlyReader struct{ io.Reader }
type countWriter2 struct {
	w io.Writer
	n int64
}

func (c *countWriter2) Write(p []byte) (int, error) { n, err := c.w.Write(p); c.n += int64(n); return n, err }

var _ = fmt.Sprint
