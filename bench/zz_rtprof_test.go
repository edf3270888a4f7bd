package main

import (
	"context"
	"path/filepath"
	"testing"
	"io"
	"time"
	"github.com/swcli/swcli/core/bundle"
	"github.com/swcli/swcli/core/envpack"
)

func rtExisting(t *testing.T) *rtBench {
	out, _ := filepath.Abs("out")
	bin, _ := filepath.Abs("../bin")
	r := &rtBench{bin: bin, out: filepath.Join(out, "run"), wheels: filepath.Join(out, "wheels-"+rtGenVersion), name: "benchenv", pkgs: rtPackages()}
	r.python, _ = rtPython()
	r.storage = filepath.Join(r.out, "storage")
	r.env = rtEnviron(filepath.Join(r.out, "home"), r.storage, filepath.Join(r.out, "config", "config.yaml"))
	r.wd = filepath.Join(r.out, "work")
	r.prefix = filepath.Join(r.wd, ".starwhale", "venv")
	return r
}

func TestRtPack(t *testing.T) {
	r := rtExisting(t)
	plan, err := r.plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		d, err := r.packPlan(context.Background(), plan)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("pack %s", d)
	}
}

func TestRtPackDiscard(t *testing.T) {
	r := rtExisting(t)
	ctx := context.Background()
	plan, err := r.plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, par := range []int{1, 2} {
		for _, scrub := range []bool{false, true} {
			var jobs []bundle.LayerJob
			for _, l := range plan {
				o := bundle.PackOptions{}
				if scrub {
					sc := envpack.NewScrubber(r.prefix, r.wd)
					o = bundle.PackOptions{Rewrite: sc.Rewrite, Transform: sc.Transform}
				}
				jobs = append(jobs, bundle.LayerJob{Root: r.prefix, Paths: l.Files, Writer: io.Discard, Options: o})
			}
			t0 := time.Now()
			if _, err := bundle.PackLayers(ctx, jobs, par); err != nil {
				t.Fatal(err)
			}
			t.Logf("discard par=%d scrub=%v %s", par, scrub, time.Since(t0))
		}
	}
}
