package main

import (
	"fmt"
	"os/exec"
)

// version: wall time of `swcli --version` (process start to exit), the
// floor of every command. Target < 20 ms.
func init() {
	register(Benchmark{Name: "version", Run: func(env *Env) error {
		runs := max(env.Runs*4, 20)
		d, err := timeIt(3, runs, func() error {
			out, err := exec.Command(env.SWCLI(), "--version").CombinedOutput()
			if err != nil {
				return fmt.Errorf("swcli --version: %v: %s", err, out)
			}
			return nil
		})
		if err != nil {
			return err
		}
		env.Printf("version: swcli --version %s (median of %d; target < 20ms)", ms(d), runs)
		return nil
	}})
}
