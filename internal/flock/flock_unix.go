//go:build unix

// Package flock takes exclusive flock(2) locks on open files, the one way
// swcli excludes other processes (and other opens in this one: flock locks
// belong to the open file) from a file or folder.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Lock takes an exclusive lock on f, waiting for it. With a context that
// can end, it polls (LOCK_NB, backing off to 100 ms) so that the wait stops
// with ctx.Err() when ctx is done; a blocked flock on another goroutine
// could not be stopped. With one that cannot end, it blocks in flock.
func Lock(ctx context.Context, f *os.File) (unlock func(), err error) {
	fd := int(f.Fd())
	how := unix.LOCK_EX
	if ctx.Done() != nil {
		how |= unix.LOCK_NB
	}
	wait := 5 * time.Millisecond
	for {
		err = unix.Flock(fd, how)
		if err == nil {
			return func() { _ = unix.Flock(fd, unix.LOCK_UN) }, nil
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}
