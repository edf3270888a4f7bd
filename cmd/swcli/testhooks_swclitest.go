//go:build swclitest

// Test hooks, compiled only into the test build of swcli (`go build -tags
// swclitest`, bin/swcli-swclitest from `make build`, which the end-to-end
// tests run); the shipped swcli has none (testhooks.go).

package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// crashHook is a test hook: with SWCLI_TEST_KILL_AT=STAGE[#N][@INT] the
// process kills itself (SIGKILL, as a crash or kill -9 would) at the Nth
// progress event whose stage starts with STAGE; with @INT it interrupts
// itself (SIGINT, as Ctrl-C would) and goes on only once the command's
// context is cancelled. Tests crash or interrupt a command at a chosen point
// instead of after a guessed sleep.
func (a *appState) crashHook(stage string) {
	at := os.Getenv("SWCLI_TEST_KILL_AT")
	if at == "" || stage == "" {
		return
	}
	sig := syscall.SIGKILL
	if rest, ok := strings.CutSuffix(at, "@INT"); ok {
		at, sig = rest, syscall.SIGINT
	}
	want := 1
	if i := strings.LastIndexByte(at, '#'); i >= 0 {
		if n, err := strconv.Atoi(at[i+1:]); err == nil && n > 0 {
			at, want = at[:i], n
		}
	}
	if !strings.HasPrefix(stage, at) || a.crashSeen.Add(1) != int32(want) {
		return
	}
	_ = syscall.Kill(os.Getpid(), sig)
	if sig == syscall.SIGKILL || a.ctx == nil {
		select {} // the signal is on its way
	}
	<-a.ctx.Done()
}
