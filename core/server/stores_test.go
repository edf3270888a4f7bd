package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/server"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/s3test"
	"github.com/swcli/swcli/plugins/s3store/s3store"
)

// The whole suite runs twice: over the filesystem store, then (unless
// -short, or when versitygw is not installed) once more in a child test
// process over a real S3 service, versitygw on 127.0.0.1, with every store
// a fresh bucket. Tests get their store from newStore or newStoreSpec and
// do not know which kind they have.
const (
	// suiteStoreEnv=s3 makes this test process the S3 run.
	suiteStoreEnv = "SWCLI_TEST_SERVER_STORE"
	// suiteS3Env is the endpoint of the S3 run's versitygw.
	suiteS3Env = "SWCLI_TEST_SERVER_S3"
)

func onS3() bool { return os.Getenv(suiteStoreEnv) == "s3" }

// runSuites runs the tests, then the S3 run as a child process with the
// same arguments, and returns the exit code.
func runSuites(m *testing.M) int {
	code := m.Run()
	if code != 0 || onS3() || testing.Short() || s3test.Binary() == "" {
		if !onS3() && !testing.Short() && s3test.Binary() == "" {
			fmt.Fprintf(os.Stderr, "core/server: versitygw not installed, the suite did not run on S3 (`%s`)\n", s3test.Install)
		}
		return code
	}
	srv, stop, err := s3test.StartShared()
	if err != nil {
		fmt.Fprintln(os.Stderr, "core/server: S3 run:", err)
		return 1
	}
	defer stop()
	fmt.Println("=== core/server: the suite again, on S3 (versitygw at " + srv.Endpoint + ")")
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), suiteStoreEnv+"=s3", suiteS3Env+"="+srv.Endpoint,
		"AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "core/server: S3 run:", err)
		return 1
	}
	return 0
}

var s3srv = sync.OnceValue(func() *s3test.Server {
	ep := os.Getenv(suiteS3Env)
	return &s3test.Server{Endpoint: ep, Client: s3test.NewClient(ep)}
})

// newStoreSpec returns a fresh, empty store for the test, as openStore
// reads it: a folder, or in the S3 run an s3:// URL of a new bucket.
func newStoreSpec(t testing.TB) string {
	t.Helper()
	if !onS3() {
		return t.TempDir()
	}
	srv := s3srv()
	return srv.URL(srv.Bucket(t), "swcli")
}

// openStore opens a store newStoreSpec gave: the filesystem store, or the
// S3 store in-process (the plugin's own tests and the scale-out tests run
// it through the plugin protocol).
func openStore(spec string) (store.Store, error) {
	if !strings.HasPrefix(spec, "s3://") {
		return store.NewFS(spec)
	}
	cfg, err := s3store.ConfigFromURL(spec)
	if err != nil {
		return nil, err
	}
	cfg.PartSize, cfg.SinglePutSize = s3store.MinPartSize, s3store.MinPartSize
	s, err := s3store.New(context.Background(), cfg, s3store.Options{Version: "test"})
	if err != nil {
		return nil, err
	}
	return store.Checked(s3store.Name, s), nil
}

// newStore is a fresh, empty store for the test.
func newStore(t testing.TB) store.Store {
	t.Helper()
	s, err := openStore(newStoreSpec(t))
	require.NoError(t, err)
	return s
}

// newStoreIn is a fresh store for a server whose data folder is dir: the
// filesystem store in dir/store, as `swcli server start --data dir` makes
// it, or in the S3 run a new bucket (dir then holds only admin.token).
func newStoreIn(t testing.TB, dir string) store.Store {
	t.Helper()
	if onS3() {
		return newStore(t)
	}
	s, err := store.NewFS(filepath.Join(dir, "store"))
	require.NoError(t, err)
	return s
}

// dataFiles is what a server's data folder holds.
func dataFiles() []string {
	if onS3() {
		return []string{server.AdminTokenFile}
	}
	return []string{"store", server.AdminTokenFile}
}
