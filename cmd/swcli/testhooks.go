//go:build !swclitest

package main

// crashHook is a no-op in the shipped swcli: the test build
// (testhooks_swclitest.go) crashes or interrupts itself at a chosen
// progress event there.
func (a *appState) crashHook(string) {}
