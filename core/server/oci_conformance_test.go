package server_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// conformanceModule is the OCI distribution-spec conformance suite, at the
// version the module proxy here offers (see go-partial.tsv).
const conformanceModule = "github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111"

// buildConformance builds the suite's binary into dir: go mod download
// (from the module cache or the proxy), then go build in its folder.
func buildConformance(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH: cannot build the conformance suite")
	}
	out, err := exec.Command(goBin, "mod", "download", "-json", conformanceModule).Output()
	require.NoError(t, err, "go mod download %s", conformanceModule)
	var mod struct{ Dir string }
	require.NoError(t, json.Unmarshal(out, &mod))
	bin := filepath.Join(dir, "conformance")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	cmd.Dir = mod.Dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "build the conformance suite: %s", b)
	return bin
}

// TestOCIConformance runs the OCI distribution-spec conformance suite (all
// of pull, push, content discovery and content management, sha512 and
// referrers included) against the handler on 127.0.0.1, logged in with a
// token as the Basic password, and fails on any failed check.
func TestOCIConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the conformance suite")
	}
	dir := t.TempDir()
	bin := buildConformance(t, dir)
	ts := newTestServer(t)
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"OCI_REGISTRY="+ts.host,
		"OCI_TLS=disabled",
		"OCI_REPO1=self/runtime/conformance1",
		"OCI_REPO2=self/runtime/conformance2",
		"OCI_USERNAME=alice",
		"OCI_PASSWORD="+adminToken,
		"OCI_RESULTS_DIR="+filepath.Join(dir, "results"),
		"OCI_VERSION=1.1",
		"OCI_LOG=warn",
		"OCI_API_BLOBS_UPLOAD_CANCEL=true",
		"OCI_API_MANIFESTS_TAG_PARAM=true", // PUT by digest with ?tag= (OCI 1.2)
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	report := stdout.String()
	t.Logf("conformance summary:\n%s", summary(report))
	// The suite exits 0 when it cannot even start (bad configuration):
	// only its own "Pass" verdict counts.
	if err != nil || !strings.Contains(report, "OCI Conformance Result: Pass") {
		t.Fatalf("conformance failed (%v):\n%s\n%s", err, report, stderr.String())
	}
}

// summary is the report's verdict with its counts, and every API or data
// line that did not pass.
func summary(report string) string {
	var keep []string
	counting := false
	for _, l := range strings.Split(report, "\n") {
		switch {
		case strings.HasPrefix(l, "OCI Conformance Result"):
			counting = true
		case counting && strings.TrimSpace(l) == "":
			counting = false
		case strings.HasSuffix(l, "Pass") || !strings.Contains(l, "....:"):
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}
