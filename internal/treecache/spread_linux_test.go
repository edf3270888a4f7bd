package treecache_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/swcli/swcli/internal/treecache"
)

// Fills are made in a folder marked as the top of directory hierarchies
// (chattr +T), where the filesystem keeps such a flag (ext4 does).
func TestFillsAreSpreadOverTheDisk(t *testing.T) {
	root := t.TempDir()
	probe := filepath.Join(root, "probe")
	require.NoError(t, os.Mkdir(probe, 0o755))
	if !setsTopdir(probe) {
		t.Skipf("the filesystem of %s keeps no FS_TOPDIR_FL (chattr +T)", root)
	}
	c := &treecache.Cache{Root: filepath.Join(root, "cache")}
	use(t, c, "k1", t.TempDir())
	require.NotZero(t, flags(t, filepath.Join(c.Root, "tmp"))&topdirFL, "the fills' folder is not marked +T")
}

const topdirFL = 0x00020000 // FS_TOPDIR_FL

func flags(t *testing.T, dir string) uint32 {
	fl, err := ioctlFlags(dir, 0)
	require.NoError(t, err)
	return fl
}

// ioctlFlags reads the inode flags of dir, after adding add to them when
// add is not 0.
func ioctlFlags(dir string, add uint32) (uint32, error) {
	f, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fl, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil || add == 0 {
		return fl, err
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(fl|add)); err != nil {
		return 0, err
	}
	return unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
}

// setsTopdir tells whether the filesystem of dir keeps FS_TOPDIR_FL.
func setsTopdir(dir string) bool {
	fl, err := ioctlFlags(dir, topdirFL)
	return err == nil && fl&topdirFL != 0
}
