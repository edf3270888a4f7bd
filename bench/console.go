package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/swcli/swcli/core/instance"
	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/server/auth"
	"github.com/swcli/swcli/core/server/console"
	"github.com/swcli/swcli/core/server/console/consoletest"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/core/workflow"
)

// console: server-side render time and weight of the console's two
// heaviest pages, in process over a filesystem store: the versions page of
// a runtime with 500 versions (20 locked packages each, one changing per
// version) and the version page of a version with 300 locked packages.
// Targets: < 50 ms each, < 200 KB transferred (gzip, as a proxy in front
// would send it; the raw size is printed too). Baselines, measured in the
// same run: the /api/v1 JSON listing of the same 500 versions, and reading
// the 300-package version's manifests (workflow.LoadBundle) and encoding
// them as JSON: the least any page of that data must do.
func init() {
	register(Benchmark{Name: "console", Run: func(env *Env) error {
		ctx := context.Background()
		st, err := store.NewFS(filepath.Join(env.Tmp, "console-store"))
		if err != nil {
			return err
		}
		acc, err := auth.New(st, auth.WithBcryptCost(bcrypt.MinCost))
		if err != nil {
			return err
		}
		reg := registry.New(st)
		con, err := console.New(console.Config{Accounts: acc, Registry: reg})
		if err != nil {
			return err
		}
		srv, err := server.New(server.Config{Accounts: acc, Registry: reg, Console: con, AdminToken: "swt_bench-0123456789abcdef"})
		if err != nil {
			return err
		}
		if err := srv.Bootstrap(ctx); err != nil {
			return err
		}
		if _, err := acc.CreateProject(ctx, "bench", "admin", true); err != nil {
			return err
		}
		b := &consoletest.Builder{Reg: reg, Dir: env.Tmp}
		start := time.Now()
		for i := 0; i < 500; i++ {
			pkgs := consoletest.Packages(20, 0)
			pkgs[i%20].Version = fmt.Sprintf("2.%d", i)
			if _, err := b.Build(ctx, consoletest.Runtime{Project: "bench", Name: "many", Packages: pkgs,
				YAML: fmt.Sprintf("name: many\n# build %d\n", i)}); err != nil {
				return err
			}
		}
		big, err := b.Build(ctx, consoletest.Runtime{Project: "bench", Name: "big", Packages: consoletest.Packages(300, 1),
			YAML: "name: big\nmode: venv\n"})
		if err != nil {
			return err
		}
		env.Printf("console: built 501 versions in %s", secs(time.Since(start)))

		get := func(path string) (int, int, error) {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusOK {
				return 0, 0, fmt.Errorf("GET %s: %d", path, rec.Code)
			}
			var gz bytes.Buffer
			w := gzip.NewWriter(&gz)
			_, _ = w.Write(rec.Body.Bytes())
			_ = w.Close()
			return rec.Body.Len(), gz.Len(), nil
		}
		page := func(label, path string, baseline func() error) error {
			t0 := time.Now()
			if _, _, err := get(path); err != nil {
				return err
			}
			cold := time.Since(t0)
			var raw, gz int
			d, err := timeIt(2, env.Runs*4, func() (err error) { raw, gz, err = get(path); return err })
			if err != nil {
				return err
			}
			base, err := timeIt(2, env.Runs*4, baseline)
			if err != nil {
				return err
			}
			env.Printf("console: %s render %s (%.1fx the baseline's %s; first view %s; target < 50ms), %d KB gzip, %d KB raw (target < 200 KB)",
				label, ms(d), float64(d)/float64(base), ms(base), ms(cold), gz/1024, raw/1024)
			return nil
		}
		if err := page("versions page, 500 versions,", "/projects/bench/runtimes/many", func() error {
			_, _, err := get("/api/v1/projects/bench/runtimes/many/versions")
			return err
		}); err != nil {
			return err
		}
		return page("version page, 300 packages,", "/projects/bench/runtimes/big/versions/"+big.Short, func() error {
			bl, err := workflow.LoadBundle(ctx, instance.OnRegistry(reg), big)
			if err != nil {
				return err
			}
			_, err = json.Marshal(struct {
				M    *workflow.Manifest
				Lock []mode.LockedPackage
			}{bl.Manifest, bl.Manifest.Lock})
			return err
		})
	}})
}
