package main

// dockerize.go: the figures of `swcli runtime dockerize` (issue 13) on the
// synthetic environment of gen.go, built with podman (runc, this sandbox's
// containers.conf) from the bookworm base image of core/dockerize/
// dockerizetest, against a baseline measured in the same run:
//
//   - dockerize/build: `swcli runtime dockerize NAME -t IMG --base-image
//     BASE` (export, context, podman build restoring through the fast path)
//     against `podman build` of a Dockerfile that only COPYs the already
//     restored environment folder onto the same base (target <= 1.5x);
//   - dockerize/size: what the image adds to its base against the restored
//     environment's bytes on disk (target <= 1.1x).

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/swcli/swcli/core/dockerize/dockerizetest"
)

func init() {
	register(Benchmark{Name: "dockerize", Run: func(env *Env) error { return rtDockerize(env.Bin, rtOutDir(env.Bin)) }})
}

func rtDockerize(bin, out string) error {
	if tool := dockerizetest.Missing(); tool != "" {
		fmt.Printf("dockerize: skipped: %s is not installed (.ci/deps installs it)\n", tool)
		return nil
	}
	r, err := rtSetup(bin, out)
	if err != nil {
		return err
	}
	if r.python.Version != "3.11" {
		fmt.Printf("dockerize: skipped: the bench runtime has Python %s; the base image has 3.11\n", r.python.Version)
		return nil
	}
	if _, err := r.ensureBuilt(); err != nil {
		return err
	}
	scratch := filepath.Join(r.out, "dockerize")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	penv, err := dockerizetest.ContainersConf(scratch)
	if err != nil {
		return err
	}
	base, err := dockerizetest.BaseImage(penv)
	if err != nil {
		fmt.Printf("dockerize: skipped: %v\n", err)
		return nil
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	img, copyImg := "localhost/swcli-bench-dockerize:"+stamp, "localhost/swcli-bench-copy:"+stamp
	defer func() {
		_, _ = dockerizetest.Podman(penv, "rmi", "-f", img, copyImg)
	}()
	env := append(append([]string{}, r.env...), penv...)

	// The baseline's input: the environment restored into a folder (untimed).
	restored := filepath.Join(scratch, "copy", "env")
	if _, err := r.swcli("runtime", "restore", r.name, "--target-dir", restored); err != nil {
		return err
	}
	df := "FROM " + base + "\nCOPY env/ /opt/starwhale/env/\n"
	if err := os.WriteFile(filepath.Join(scratch, "copy", "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	if _, err := r.sh("sync"); err != nil {
		return err
	}
	_, tCopy, err := r.runIn(env, "podman", "build", "-t", copyImg, filepath.Join(scratch, "copy"))
	if err != nil {
		return err
	}
	_, tDock, err := r.runIn(env, filepath.Join(r.bin, "swcli"), "runtime", "dockerize", r.name, "-t", img, "--base-image", base)
	if err != nil {
		return err
	}
	rtLine("dockerize/build", fmt.Sprintf("swcli runtime dockerize %s vs podman build of COPY env/ %s", rtSecs(tDock), rtSecs(tCopy)),
		tDock.Seconds()/tCopy.Seconds(), "<= 1.50x", tDock.Seconds() <= 1.5*tCopy.Seconds())

	sizes := map[string]int64{}
	for _, i := range []string{base, img} {
		o, err := dockerizetest.Podman(penv, "image", "inspect", "--format", "{{.Size}}", i)
		if err != nil {
			return err
		}
		if sizes[i], err = strconv.ParseInt(strings.TrimSpace(o), 10, 64); err != nil {
			return fmt.Errorf("podman image inspect %s: %q: %v", i, o, err)
		}
	}
	_, envBytes, err := rtTreeStats(restored)
	if err != nil {
		return err
	}
	added := sizes[img] - sizes[base]
	rtLine("dockerize/size", fmt.Sprintf("image %s over its base %s (%s) vs restored environment %s",
		rtBytes(sizes[img]), base, rtBytes(sizes[base]), rtBytes(envBytes)),
		float64(added)/float64(envBytes), "<= 1.10x", float64(added) <= 1.1*float64(envBytes))
	return nil
}
