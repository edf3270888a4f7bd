// Package s3test gives tests a real S3 service: versitygw with its posix
// backend in a temporary folder, listening on 127.0.0.1 only, started by the
// test and stopped when it ends. Tests that need it skip, saying how to
// install it, when the versitygw binary is not on PATH nor in
// $(go env GOPATH)/bin (`.ci/deps` installs it).
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Install is how to get the binary.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Test credentials and region of the servers started here.
const (
	AccessKey = "swcli-test-access"
	SecretKey = "swcli-test-secret-key"
	Region    = "us-east-1"
)

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Root     string // the posix backend's folder
	Client   *s3.Client
}

var (
	binOnce sync.Once
	binPath string
)

// Binary returns the path of versitygw, or "" when it is not installed.
func Binary() string {
	binOnce.Do(func() {
		if p, err := exec.LookPath("versitygw"); err == nil {
			binPath = p
			return
		}
		gopath := ""
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
		for _, dir := range filepath.SplitList(gopath) {
			p := filepath.Join(dir, "bin", "versitygw")
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				binPath = p
				return
			}
		}
	})
	return binPath
}

// Start starts versitygw for the test and stops it when the test ends. It
// skips the test when versitygw is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		t.Skipf("versitygw not found on PATH or in $(go env GOPATH)/bin; install it with `%s` (or run .ci/deps)", Install)
	}
	s, stop, err := startIn(bin, t.TempDir())
	if err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	t.Cleanup(func() {
		out := stop()
		if t.Failed() {
			t.Logf("versitygw output:\n%s", out)
		}
	})
	return s
}

// StartShared starts versitygw for a whole test process (from TestMain):
// the caller stops it with stop, which also removes its folder. It fails
// when versitygw is not installed (check Binary first).
func StartShared() (s *Server, stop func(), err error) {
	bin := Binary()
	if bin == "" {
		return nil, nil, fmt.Errorf("versitygw not found; install it with `%s`", Install)
	}
	root, err := os.MkdirTemp("", "swcli-versitygw-")
	if err != nil {
		return nil, nil, err
	}
	s, stopGW, err := startIn(bin, root)
	if err != nil {
		os.RemoveAll(root)
		return nil, nil, err
	}
	return s, func() { stopGW(); os.RemoveAll(root) }, nil
}

// startIn starts versitygw over root, retrying on another port when the
// free port was taken meanwhile. stop returns the server's output.
func startIn(bin, root string) (*Server, func() string, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, stop, err := start(bin, root)
		if err == nil {
			return s, stop, nil
		}
		lastErr = err
	}
	return nil, nil, lastErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects the server's output for error messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 64<<10 {
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func start(bin, root string) (*Server, func() string, error) {
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey, "--region", Region,
		"--port", addr, "--quiet", "posix", root)
	// Environment variables that would reconfigure the gateway are not
	// passed on.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VGW_") && !strings.HasPrefix(kv, "ROOT_ACCESS_KEY") && !strings.HasPrefix(kv, "ROOT_SECRET") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// Gone with the test process, even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	var exited atomic.Bool
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); exited.Store(true); close(done) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}

	s := &Server{Endpoint: "http://" + addr, Root: root, Client: NewClient("http://" + addr)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := s.Client.ListBuckets(ctx, &s3.ListBucketsInput{})
		cancel()
		if err == nil {
			break
		}
		if exited.Load() {
			return nil, nil, fmt.Errorf("exited at start: %s", out.String())
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("not ready after 20s: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, func() string { stop(); return out.String() }, nil
}

// NewClient is an S3 client for a server started here.
func NewClient(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       Region,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

var bucketSeq atomic.Int64

// Bucket creates a new, empty bucket and returns its name.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name, err := s.NewBucket()
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// NewBucket creates a new, empty bucket and returns its name.
func (s *Server) NewBucket() (string, error) {
	name := fmt.Sprintf("swcli-test-%d-%d", os.Getpid(), bucketSeq.Add(1))
	_, err := s.Client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create bucket %s: %w", name, err)
	}
	return name, nil
}

// URL is the store URL of bucket and prefix on this server (credentials
// come from the environment: see Env and CredentialsEnv).
func (s *Server) URL(bucket, prefix string) string {
	u := "s3://" + bucket
	if prefix != "" {
		u += "/" + prefix
	}
	return u + "?endpoint=" + url.QueryEscape(s.Endpoint) + "&region=" + Region
}

// CredentialsEnv sets the test credentials in the AWS SDK's environment
// variables for the rest of the test.
func CredentialsEnv(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
}

// Env sets the environment variables of the s3store plugin for bucket and
// prefix on this server, for the rest of the test.
func (s *Server) Env(t testing.TB, bucket, prefix string) {
	t.Helper()
	for k, v := range map[string]string{
		"SW_S3_ENDPOINT":        s.Endpoint,
		"SW_S3_BUCKET":          bucket,
		"SW_S3_PREFIX":          prefix,
		"SW_S3_REGION":          Region,
		"AWS_ACCESS_KEY_ID":     AccessKey,
		"AWS_SECRET_ACCESS_KEY": SecretKey,
	} {
		t.Setenv(k, v)
	}
}
