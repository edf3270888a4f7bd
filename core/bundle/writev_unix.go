//go:build unix

package bundle

import (
	"os"

	"golang.org/x/sys/unix"
)

// writev writes pieces to f with writev(2), again for what a short write
// left. pieces is not changed (others may read it meanwhile).
func writev(f *os.File, pieces [][]byte) (int64, error) {
	pieces = append([][]byte(nil), pieces...)
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var total int64
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for len(pieces) > 0 {
			n, err := unix.Writev(int(fd), pieces)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				werr = &os.PathError{Op: "write", Path: f.Name(), Err: err}
				return true
			}
			total += int64(n)
			for n > 0 && len(pieces) > 0 { // drop what was written
				k := min(n, len(pieces[0]))
				pieces[0], n = pieces[0][k:], n-k
				if len(pieces[0]) == 0 {
					pieces = pieces[1:]
				}
			}
			for len(pieces) > 0 && len(pieces[0]) == 0 {
				pieces = pieces[1:]
			}
		}
		return true
	})
	if werr != nil {
		return total, werr
	}
	return total, err
}
