//go:build !unix

package store

import (
	"context"
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

// lockFileCtx is lockFile (a mutex wait cannot end with ctx).
func lockFileCtx(_ context.Context, f *os.File) (release func(), err error) { return lockFile(f) }

func fileID(fs.FileInfo) uint64 { return 0 }

// lockFileShared is lockFile (exclusive: nothing here commits unsynced,
// so nothing takes it but the renewal, which cannot run here either).
func lockFileShared(f *os.File) (release func(), err error) { return lockFile(f) }
