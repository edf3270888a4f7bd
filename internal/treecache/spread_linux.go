package treecache

import (
	"os"

	"golang.org/x/sys/unix"
)

// fsTopdirFL is FS_TOPDIR_FL of linux/fs.h (chattr +T), which x/sys/unix
// does not define.
const fsTopdirFL = 0x00020000

// spreadTrees marks dir as the top of directory hierarchies (chattr +T),
// so ext4's Orlov allocator places each folder made in it (a fill) in a
// block group of its own choosing, with many free inodes, instead of
// beside dir: the files of a fill then get their inodes there. It pays on
// ext4 without a journal, where a create scans its group's inode bitmap
// past every inode freed in the last minutes (the kernel's
// recently_deleted check, a buffer-cache lookup each): a tree filled next
// to folders where other work deletes many files costs several times the
// kernel time. Best effort: where the filesystem has no such flag, or
// refuses it, nothing changes.
func spreadTrees(dir string) {
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	defer f.Close()
	fd := int(f.Fd())
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil || flags&fsTopdirFL != 0 {
		return
	}
	_ = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsTopdirFL))
}
