package directio

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errNotLocal says f's filesystem is not one direct writes are made on.
var errNotLocal = errors.New("not a local disk filesystem")

// localDisk are the filesystems whose O_DIRECT writes go to a local block
// device at its speed. Elsewhere (NFS and other network filesystems, FUSE,
// overlayfs) a direct write may be a synchronous round trip, slower than
// the page cache: those are written through it.
var localDisk = map[int64]bool{
	unix.EXT4_SUPER_MAGIC:  true, // ext2/3/4
	unix.XFS_SUPER_MAGIC:   true,
	unix.BTRFS_SUPER_MAGIC: true,
	unix.F2FS_SUPER_MAGIC:  true,
}

// setDirect sets or clears O_DIRECT on f's open file description; it sets
// it only on a local disk filesystem (localDisk).
func setDirect(f *os.File, on bool) error {
	fd := int(f.Fd())
	if on {
		var st unix.Statfs_t
		if err := unix.Fstatfs(fd, &st); err != nil {
			return err
		}
		if !localDisk[int64(st.Type)] {
			return errNotLocal
		}
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if on {
		fl |= unix.O_DIRECT
	} else {
		fl &^= unix.O_DIRECT
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl)
	return err
}

func isInvalid(err error) bool { return errors.Is(err, unix.EINVAL) }
