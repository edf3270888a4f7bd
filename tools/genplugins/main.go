// Command genplugins builds the plugins listed in the repository's
// plugins.yaml into a bin folder and writes BIN/plugins.yaml with each
// binary's sha256 and a command relative to BIN, so the folder can be moved
// as a whole. Usage: go run ./tools/genplugins -bin bin -ldflags "..."
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/swcli/swcli/core/plugin"
	"github.com/swcli/swcli/internal/atomicfile"
)

func main() {
	bin := flag.String("bin", "bin", "output folder")
	src := flag.String("list", "plugins.yaml", "the repository's plugin list")
	ldflags := flag.String("ldflags", "", "go build -ldflags")
	flag.Parse()
	if err := run(*src, *bin, *ldflags); err != nil {
		fmt.Fprintln(os.Stderr, "genplugins:", err)
		os.Exit(1)
	}
}

func run(src, bin, ldflags string) error {
	entries, err := plugin.ReadFile(src)
	if err != nil {
		return err
	}
	var out plugin.File
	for _, e := range entries {
		if e.Package == "" {
			return fmt.Errorf("%s: plugin %q has no package", src, e.Name)
		}
		name := "swcli-plugin-" + e.Name
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", filepath.Join(bin, name), e.Package)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", e.Package, err)
		}
		sum, err := plugin.FileSHA256(filepath.Join(bin, name))
		if err != nil {
			return err
		}
		out.Plugins = append(out.Plugins, plugin.Entry{Name: e.Name, Kind: e.Kind, Command: "./" + name, SHA256: sum})
	}
	data, err := yaml.Marshal(&out)
	if err != nil {
		return err
	}
	header := []byte("# Written by `make build`: the plugins beside this swcli binary.\n")
	return atomicfile.Write(filepath.Join(bin, plugin.FileName), append(header, data...), 0o644)
}
