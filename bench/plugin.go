package main

import (
	"context"
	"path/filepath"

	"github.com/swcli/swcli/core/plugin"
)

// plugin: what the host pays to use a plugin — verify its checksum, start
// the process, go-plugin handshake, gRPC connection and the Info call — then
// kill it. Target < 50 ms.
func init() {
	register(Benchmark{Name: "plugin", Run: func(env *Env) error {
		cat, err := plugin.Load([]string{filepath.Join(env.Bin, plugin.FileName)})
		if err != nil {
			return err
		}
		runs := max(env.Runs*4, 20)
		d, err := timeIt(2, runs, func() error {
			h := plugin.NewHost(cat, nil)
			defer h.Close()
			_, _, err := h.Info(context.Background(), "venv")
			return err
		})
		if err != nil {
			return err
		}
		env.Printf("plugin: venv start + handshake + Info %s (median of %d, checksum verified; target < 50ms)", ms(d), runs)
		return nil
	}})
}
