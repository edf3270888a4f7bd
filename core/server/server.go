package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/swcli/swcli/core/registry"
)

// Config is what a Server is made of.
type Config struct {
	// Accounts decides who may do what and keeps users, tokens and
	// projects (core/server/auth over the store). Required.
	Accounts Accounts
	// Registry holds the runtimes, on the same store. Required.
	Registry *registry.Registry
	// V2 builds the OCI distribution handler mounted at /v2/, given the
	// Access it must ask (Accounts, wrapped so the request log knows the
	// user). Nil means NewOCIHandler over Registry; tests may replace it.
	V2 func(acc Access) http.Handler
	// Console is the web console (core/server/console), mounted at "/";
	// nil answers "/" with a JSON 404 that points at /api/v1/.
	Console http.Handler
	// UploadExpiry is how long an untouched upload session is kept before
	// the server's sweeper deletes it (24h when zero).
	UploadExpiry time.Duration
	// Log receives one line per request and the server's own events.
	Log hclog.Logger
	// DataDir is where Bootstrap writes admin.token.
	DataDir string
	// AdminToken, if set, is the token of the admin Bootstrap creates on an
	// empty store (SW_SERVER_ADMIN_TOKEN); then no admin.token is written.
	AdminToken string
	// ProxyBlobs serves every blob's bytes through the server, also when
	// the store could send clients to its own service (WithBlobRedirect
	// off: `swcli server start --blob-redirect=false`), for deployments
	// where clients cannot reach the bucket.
	ProxyBlobs bool
	// Grace is how long in-flight requests may run after a shutdown
	// begins; 30s when zero.
	Grace time.Duration
}

// AdminTokenFile is the file in DataDir that holds the first admin's token.
const AdminTokenFile = "admin.token"

// Server is the cloud instance's HTTP handler and its lifecycle.
type Server struct {
	cfg     Config
	log     hclog.Logger
	handler http.Handler
}

// New checks cfg and composes /api/v1/, /v2/ and the console at /.
func New(cfg Config) (*Server, error) {
	if cfg.Accounts == nil || cfg.Registry == nil {
		return nil, errors.New("server: Accounts and Registry are required")
	}
	if cfg.Log == nil {
		cfg.Log = hclog.NewNullLogger()
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 30 * time.Second
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", newAPI(cfg.Accounts, cfg.Registry, cfg.Log.Named("api")))
	if cfg.V2 == nil {
		cfg.V2 = func(acc Access) http.Handler {
			return NewOCIHandler(cfg.Registry, acc, cfg.Log.Named("v2"), WithBlobRedirect(!cfg.ProxyBlobs))
		}
	}
	if cfg.UploadExpiry <= 0 {
		cfg.UploadExpiry = 24 * time.Hour
	}
	v2 := cfg.V2(notingAccess{cfg.Accounts})
	mux.Handle("/v2/", v2)
	mux.Handle("/v2", v2)
	if cfg.Console != nil {
		mux.Handle("/", cfg.Console)
	} else {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			var body errorBody
			body.Error.Code, body.Error.Message = "not_found", "no such route: the API is at /api/v1/"
			writeJSON(w, http.StatusNotFound, body)
		})
	}
	return &Server{cfg: cfg, log: cfg.Log, handler: mux}, nil
}

// ServeHTTP serves a request and logs it: method, path (never the query,
// which might hold a token), status, bytes, duration, user. The
// Authorization header is never logged.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &requestInfo{}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.handler.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
	s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"bytes", rec.bytes, "duration", time.Since(start), "user", info.user, "remote", r.RemoteAddr)
}

type requestInfoKey struct{}

// requestInfo is what handlers tell the request log.
type requestInfo struct{ user string }

// noteUser tells the request log who the request comes from.
func noteUser(ctx context.Context, p Principal) {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		info.user = p.User
	}
}

// notingAccess notes every authenticated user in the request log.
type notingAccess struct{ Access }

func (n notingAccess) Authenticate(r *http.Request) (Principal, error) {
	p, err := n.Access.Authenticate(r)
	if err == nil {
		noteUser(r.Context(), p)
	}
	return p, err
}

// recorder counts what a handler writes.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes through to the underlying writer.
func (w *recorder) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Bootstrap makes sure project self exists and, on an empty store, creates
// the admin: with Config.AdminToken, or with a fresh token written to
// DataDir/admin.token (mode 0600) before the admin exists, so a crash
// between the two loses nothing. It logs where the token is, never the
// token.
func (s *Server) Bootstrap(ctx context.Context) error {
	token, tmp := s.cfg.AdminToken, ""
	if token == "" && s.cfg.DataDir == "" {
		// A server on a shared store started without a data folder: the
		// store must have its admin already (another server made it).
		users, err := s.cfg.Accounts.ListUsers(ctx)
		if err != nil {
			return err
		}
		if len(users) == 0 {
			return errors.New("server: the store has no users yet: start the first server with --data DIR (the admin's token is written to DIR/admin.token) or with SW_SERVER_ADMIN_TOKEN set")
		}
		// Users exist: Bootstrap only makes sure project self does. The
		// token is never shown (it would only be used if every user had
		// been deleted since the check).
		if token, err = NewToken(); err != nil {
			return err
		}
		_, err = s.cfg.Accounts.Bootstrap(ctx, token)
		return err
	}
	if token == "" {
		var err error
		if token, err = NewToken(); err != nil {
			return err
		}
		if tmp, err = writeSecretTemp(s.cfg.DataDir, token); err != nil {
			return fmt.Errorf("server: write the admin token: %w", err)
		}
		defer os.Remove(tmp) // a no-op once renamed
	}
	created, err := s.cfg.Accounts.Bootstrap(ctx, token)
	if err != nil {
		return err
	}
	switch {
	case !created && s.cfg.AdminToken != "":
		s.log.Warn("the admin token from the environment is ignored: the store already has users")
	case !created:
	case tmp != "":
		path := filepath.Join(s.cfg.DataDir, AdminTokenFile)
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("server: write the admin token: %w (the token is in %s)", err, tmp)
		}
		syncDir(s.cfg.DataDir)
		s.log.Info("created user admin; its token is in the file", "path", path)
	default:
		s.log.Info("created user admin with the token from the environment")
	}
	return nil
}

// writeSecretTemp writes secret to a new mode-0600 temporary file in dir,
// synced, and returns its path.
func writeSecretTemp(dir, secret string) (string, error) {
	if dir == "" {
		return "", errors.New("no data folder to write it to")
	}
	f, err := os.CreateTemp(dir, "."+AdminTokenFile+"-*")
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(secret + "\n")
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// TLSFiles names a certificate and key (PEM); both empty serves plain HTTP.
type TLSFiles struct{ Cert, Key string }

// ListenAndServe checks the TLS files, listens on addr, bootstraps (so a
// bad address or certificate fails before anything is created) and serves
// (see Serve).
func (s *Server) ListenAndServe(ctx context.Context, addr string, tlsFiles TLSFiles) error {
	if _, err := tlsConfig(tlsFiles); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", addr, err)
	}
	if err := s.Bootstrap(ctx); err != nil {
		ln.Close()
		return err
	}
	return s.Serve(ctx, ln, tlsFiles)
}

// tlsConfig loads the certificate and key; nil for plain HTTP.
func tlsConfig(files TLSFiles) (*tls.Config, error) {
	if (files.Cert == "") != (files.Key == "") {
		return nil, errors.New("server: TLS needs both a certificate and a key (--tls-cert and --tls-key)")
	}
	if files.Cert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		return nil, fmt.Errorf("server: TLS certificate %s / key %s: %w", files.Cert, files.Key, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// Serve serves on ln (logging its address, so ":0" works) until ctx is
// done; then it stops accepting, lets in-flight requests finish within
// Config.Grace and returns nil, or an error saying requests were cut off.
// It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsFiles TLSFiles) error {
	cfg, err := tlsConfig(tlsFiles)
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, TLSConfig: cfg,
		ErrorLog: s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})}
	scheme := "http"
	if cfg != nil {
		scheme = "https"
		ln = tls.NewListener(ln, cfg)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go s.sweepUploads(sweepCtx)
	s.log.Info("listening", "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down; in-flight requests may finish", "grace", s.cfg.Grace)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
		<-errc
		return fmt.Errorf("server: requests still running after %s were cut off", s.cfg.Grace)
	}
	<-errc
	s.log.Info("stopped")
	return nil
}

// sweepUploads deletes upload sessions nobody touched for UploadExpiry,
// every UploadExpiry/4, until ctx ends. Any server sharing the store may do
// it: a session's age is read from the store, not from this process.
func (s *Server) sweepUploads(ctx context.Context) {
	t := time.NewTicker(s.cfg.UploadExpiry / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.cfg.Registry.ExpireUploads(ctx, s.cfg.UploadExpiry); err != nil {
				s.log.Warn("expiring upload sessions", "error", err)
			} else if n > 0 {
				s.log.Info("expired upload sessions", "count", n)
			}
		}
	}
}
