package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/internal/s3test"
)

// TestServerStoreS3Redirect: a `swcli server start --store s3://...`
// answers blob GETs with 307 to presigned URLs of versitygw (the default),
// and swcli follows them: a runtime pushed through the server (after a
// push killed in the middle of a blob, which resumes) is pulled
// (whole, and again after the pull was killed in the middle of a blob),
// checked and run on another machine. The server's log, at trace level
// with the plugin's, shows the redirects and never a presigned URL. With --blob-redirect=false the same pull is
// served by the server.
func TestServerStoreS3Redirect(t *testing.T) {
	fix := sharedRuntime(t)
	srv := s3test.Start(t)
	c := newCLI(t)
	c.ok("runtime", "build", fix.wd)
	for _, redirect := range []bool{true, false} {
		sc := newCLI(t)
		sc.setenv("AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey, "SW_LOG_LEVEL=trace")
		data := t.TempDir()
		args := []string{"--data", data, "--store", srv.URL(srv.Bucket(t), "prod")}
		if !redirect {
			args = append(args, "--blob-redirect=false")
		}
		s := startServerWith(t, sc, args...)
		tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
		require.NoError(t, err)
		token := strings.TrimSpace(string(tok))
		c.ok("instance", "login", s.url, "--alias", "s3dev", "--token", token)
		if redirect {
			// a push killed in the middle of a blob (chunks of 16 KiB, each
			// sent from the server to S3 by url-put) resumes
			c.setenv("SWCLI_TEST_CHUNK_SIZE=16384")
			stKilledAt(t, c, "copy bytes#40", "runtime", "copy", fixtureName, "s3dev/project/self")
			c.setenv("SWCLI_TEST_CHUNK_SIZE=") // the default again
			c.fail([]string{"has no runtime"}, "runtime", "info", "s3dev/project/self/runtime/"+fixtureName+"/version/latest")
		}
		c.ok("runtime", "copy", fixtureName, "s3dev/project/self")

		c2 := newCLI(t)
		c2.ok("instance", "login", s.url, "--alias", "s3dev", "--token", token)
		stKilledAt(t, c2, "copy bytes#3", "runtime", "copy", "s3dev/project/self/runtime/"+fixtureName, "local/project/self")
		c2.ok("runtime", "copy", "s3dev/project/self/runtime/"+fixtureName, "local/project/self")
		assert.Contains(t, c2.ok("runtime", "run", fixtureName, "--", "python", "-c", "print('pulled')").stdout, "pulled")

		log := s.stderr()
		if redirect {
			assert.Contains(t, log, "status=307", "blob GETs were redirected")
		} else {
			assert.NotContains(t, log, "status=307", "--blob-redirect=false serves the bytes")
		}
		for _, secret := range []string{"X-Amz-Signature", "X-Amz-Credential", token, s3test.SecretKey} {
			assert.NotContains(t, log, secret, "the server's log names no credential")
		}
		c.ok("instance", "logout", "s3dev")
	}
}
