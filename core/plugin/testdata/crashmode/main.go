// Command crashmode is a deliberately broken mode plugin for core/plugin's
// tests: Install exits the process with status 3 in the middle of the call,
// as a plugin that crashes would. Create logs a line through hclog, so tests
// can see plugin logs reach the host's logger.
package main

import (
	"context"
	"os"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/sdk"
)

type crash struct{}

var log = sdk.Logger("crashmode")

func (crash) Info(context.Context) (mode.Info, error) {
	return mode.Info{Name: "crashmode", Kind: sdk.KindMode, Version: "0.0.1-test", ProtocolVersions: []int{mode.ProtocolVersion}}, nil
}
func (crash) Doctor(context.Context, mode.DoctorRequest) (mode.DoctorReport, error) {
	return mode.DoctorReport{}, nil
}
func (crash) Create(_ context.Context, req mode.CreateRequest, ev mode.Events) error {
	log.Info("crashmode create called", "prefix", req.Env.Prefix)
	ev.Logf("info", "crashmode creating %s", req.Env.Prefix)
	return nil
}
func (crash) Install(context.Context, mode.InstallRequest, mode.Events) error {
	os.Exit(3)
	return nil
}
func (crash) Lock(context.Context, mode.LockRequest, mode.Events) (mode.Lock, error) {
	return mode.Lock{}, nil
}
func (crash) Restore(context.Context, mode.RestoreRequest, mode.Events) error { return nil }
func (crash) Files(context.Context, mode.FilesRequest) (mode.FilesReport, error) {
	return mode.FilesReport{}, nil
}
func (crash) Relocate(context.Context, mode.RelocateRequest, mode.Events) error { return nil }
func (crash) Activation(context.Context, mode.ActivationRequest) (mode.Activation, error) {
	return mode.Activation{}, mode.Errorf(mode.ErrUnsupported, "crashmode has no activation")
}

func main() { sdk.ServeMode(crash{}) }
