//go:build !unix

package store

import (
	"io/fs"
	"os"
	"sync"
)

// Without flock, conditional puts are atomic within this process only.
var fsLocks sync.Map // lock file name -> *sync.Mutex

func lockFile(f *os.File) (release func(), err error) {
	v, _ := fsLocks.LoadOrStore(f.Name(), new(sync.Mutex))
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock, nil
}

func fileID(fs.FileInfo) uint64 { return 0 }
