package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/swcli/swcli/internal/directio"
)

// writeProbe measures how fast this machine writes right now: 256 MiB
// through the page cache, then 256 MiB around it (internal/directio). On a
// virtual machine whose memory the host backs page by page the first swings
// by 10x with what the machine touched lately (a fresh machine's memory is
// slow the first time), the second hardly moves; the write-heavy figures
// print it beside them, so a ratio can be read against the state it was
// measured in.
func writeProbe(dir string) string {
	const size = 256 << 20
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 31)
	}
	speed := func(direct bool) (float64, error) {
		p := filepath.Join(dir, fmt.Sprintf("probe-%v", direct))
		defer os.Remove(p)
		f, err := os.Create(p)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		t0 := time.Now()
		var w io.Writer = f
		var dw *directio.Writer // nil: through the page cache
		if direct {
			dw = directio.NewWriter(f, 0)
			w = dw
		}
		for n := 0; n < size; n += len(buf) {
			if _, err := w.Write(buf); err != nil {
				return 0, err
			}
		}
		if err := dw.Flush(); err != nil {
			return 0, err
		}
		return size / 1e6 / time.Since(t0).Seconds(), nil
	}
	cached, err := speed(false)
	if err != nil {
		return "write probe failed: " + err.Error()
	}
	direct, err := speed(true)
	if err != nil {
		return "write probe failed: " + err.Error()
	}
	return fmt.Sprintf("this machine now writes %.0f MB/s through the page cache, %.0f MB/s around it (256 MiB each)", cached, direct)
}
