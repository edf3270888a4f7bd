package bundle

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var words = strings.Fields(`def class import from return self None True False if else elif for
while in not and or try except finally with as yield lambda pass raise assert global
numpy torch tensor array shape dtype float32 int64 config logger path os sys json value
key items append extend __init__ __name__ __main__ kwargs args result data index name
module package version requires dist info metadata wheel python3 site-packages lib bin
0 1 2 3 10 100 255 1024 "utf-8" 'r' 'w' # TODO: FIXME = == != <= >= + - * / ( ) [ ] { } : ,`)

// genText returns n bytes of Python-like text.
func genText(r *rand.Rand, n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 64)
	for b.Len() < n {
		indent := r.IntN(4) * 4
		b.WriteString(strings.Repeat(" ", indent))
		for k := 2 + r.IntN(10); k > 0; k-- {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		if r.IntN(7) == 0 {
			fmt.Fprintf(&b, "%d_%x", r.IntN(1000), r.Uint32())
		}
		b.WriteByte('\n')
	}
	return b.Bytes()[:n]
}

// genBinary returns n bytes that compress about like shared libraries: random
// runs, zero runs and repeats.
func genBinary(r *rand.Rand, n int) []byte {
	b := make([]byte, 0, n+4096)
	for len(b) < n {
		k := 512 + r.IntN(3584)
		switch r.IntN(4) {
		case 0, 1:
			for i := 0; i < k; i += 8 {
				v := r.Uint64()
				for j := 0; j < 8; j++ {
					b = append(b, byte(v>>(8*j)))
				}
			}
		case 2:
			b = append(b, make([]byte, k)...)
		case 3:
			if len(b) > k {
				off := r.IntN(len(b) - k)
				b = append(b, b[off:off+k]...)
			} else {
				b = append(b, make([]byte, k)...)
			}
		}
	}
	return b[:n]
}

// genTree writes a synthetic environment under root: packages under
// lib/python3.11/site-packages, each a directory of text modules with a few big
// binary extensions, about files files and total bytes in all. It returns the
// package directories (slash-separated, relative to root).
func genTree(tb testing.TB, root string, files int, total int64, seed uint64) []string {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	const perPkg = 100
	pkgs := max(1, files/perPkg)
	big := max(1, files/400)                // binary files
	binBytes := total * 6 / 10              // 60% of bytes in binaries
	textBytes := total - binBytes           // the rest in text
	avgText := textBytes / int64(files-big) // per text file
	avgBin := binBytes / int64(big)
	var out []string
	n := 0
	for p := 0; p < pkgs; p++ {
		pkg := fmt.Sprintf("lib/python3.11/site-packages/pkg%03d", p)
		out = append(out, pkg)
		for i := 0; i < perPkg && n < files; i, n = i+1, n+1 {
			sub := ""
			if i%10 != 0 {
				sub = fmt.Sprintf("sub%d/", i%7)
			}
			var name string
			var data []byte
			mode := os.FileMode(0o644)
			if n%(files/big) == 0 && big > 0 {
				name = fmt.Sprintf("%s/%s_ext%d.cpython-311-x86_64-linux-gnu.so", pkg, sub, i)
				data = genBinary(r, int(avgBin/2+r.Int64N(avgBin+1)))
				mode = 0o755
			} else {
				name = fmt.Sprintf("%s/%smod%d.py", pkg, sub, i)
				data = genText(r, int(avgText/2+r.Int64N(avgText+1)))
			}
			full := filepath.Join(root, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(full, data, mode); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return out
}
