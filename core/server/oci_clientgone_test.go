package server_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/registry"
	"github.com/swcli/swcli/core/server"
)

// TestOCIClientCutShortIsNotAServerError: a PATCH whose body ends before
// its Content-Length (a client that went away) gets 400
// BLOB_UPLOAD_INVALID, is logged at INFO, not as a failed request at
// ERROR, and leaves the session as it was, so the client can resume.
func TestOCIClientCutShortIsNotAServerError(t *testing.T) {
	var logs syncBuffer
	reg := registry.New(newStore(t))
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info})
	ts := httptest.NewServer(server.NewOCIHandler(reg, newAccess(), log))
	defer ts.Close()
	const repo = "self/runtime/cut"

	resp, _ := do(t, "POST", ts.URL+"/v2/"+repo+"/blobs/uploads/", adminToken, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	loc := resp.Header.Get("Location")
	resp, _ = do(t, "PATCH", ts.URL+loc, adminToken, strings.NewReader("0123456789"), "Content-Range", "0-9", "Content-Type", "application/octet-stream")
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	// 1000 bytes announced, 10 sent, then the client's side of the
	// connection closes.
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	auth := base64.StdEncoding.EncodeToString([]byte("alice:" + adminToken))
	_, err = fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Type: application/octet-stream\r\nContent-Range: 10-1009\r\nContent-Length: 1000\r\n\r\nabcdefghij", loc, auth)
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	cut, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(cut.Body)
	cut.Body.Close()
	assert.Equal(t, http.StatusBadRequest, cut.StatusCode, "body %s", body)
	assert.Equal(t, "BLOB_UPLOAD_INVALID", errCode(t, body))

	out := logs.String()
	assert.NotContains(t, out, "[ERROR]", "a client that went away is not a server error:\n%s", out)
	assert.Contains(t, out, "client sent less than its request said")

	resp, _ = do(t, "GET", ts.URL+loc, adminToken, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	rng := resp.Header.Get("Range")
	var end int64
	_, err = fmt.Sscanf(rng, "0-%d", &end)
	require.NoError(t, err, rng)
	assert.GreaterOrEqual(t, end, int64(9), "what the session held before stays: %s", rng)
}
