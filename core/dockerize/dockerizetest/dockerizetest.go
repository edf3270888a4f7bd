// Package dockerizetest owns what the dockerize tests and benchmarks need to
// run a real container engine on these machines: a containers.conf that
// suits this sandbox (runc, lower ulimits: CONTAINERS_CONF, never a flag of
// swcli's), and a Debian bookworm base image with Python 3.11 made by
// mmdebstrap and podman import, cached by date. It is for tests only.
package dockerizetest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Tools are the programs the helpers need.
var Tools = []string{"podman", "runc", "mmdebstrap"}

// Missing names the first of Tools not on PATH, or "".
func Missing() string {
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			return t
		}
	}
	return ""
}

// ContainersConf writes a containers.conf into dir and returns the
// variables that point podman at it.
func ContainersConf(dir string) ([]string, error) {
	conf := filepath.Join(dir, "containers.conf")
	body := "[engine]\nruntime = \"runc\"\n[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		return nil, err
	}
	return []string{"CONTAINERS_CONF=" + conf}, nil
}

// Podman runs podman with env added to this process's and returns its
// output; a failure carries it.
func Podman(env []string, args ...string) (string, error) {
	cmd := exec.Command("podman", args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// BaseImage returns localhost/swcli-test-base:DATE, a bookworm minbase with
// python3 (3.11) and python3-venv, importing it from a tar made by mmdebstrap
// (about 20 s) unless the image exists; the tar is kept under os.TempDir()
// by date, so later runs that day only import it. It is left in podman's
// store for the next run.
func BaseImage(env []string) (string, error) {
	day := time.Now().UTC().Format("20060102")
	img := "localhost/swcli-test-base:" + day
	if _, err := Podman(env, "image", "exists", img); err == nil {
		return img, nil
	}
	tar := filepath.Join(os.TempDir(), "swcli-test-base-"+day+".tar")
	if st, err := os.Stat(tar); err != nil || !st.Mode().IsRegular() {
		os.RemoveAll(tar)
		tmp := tar + ".tmp"
		os.RemoveAll(tmp)
		out, err := exec.Command("mmdebstrap", "--format=tar", "--variant=minbase", "--include=python3,python3-venv", "bookworm", tmp).CombinedOutput()
		if err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("mmdebstrap cannot make a base image here (no Debian mirror?): %v: %s", err, lastLine(string(out)))
		}
		if err := os.Rename(tmp, tar); err != nil {
			return "", err
		}
	}
	if _, err := Podman(env, "import", tar, img); err != nil {
		return "", err
	}
	return img, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// Tree describes every file and folder under dir, by slash path: mode,
// modification time and, for files, size and sha256. Two folders are the
// same build context when their trees are equal.
func Tree(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		v := info.Mode().String() + " " + info.ModTime().UTC().String()
		if !info.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" %d %x", len(data), sha256.Sum256(data))
		}
		out[filepath.ToSlash(rel)] = v
		return nil
	})
	return out, err
}
