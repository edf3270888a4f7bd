package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/swcli/swcli/core/mode"
	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/filehash"
	"github.com/swcli/swcli/internal/pluginwire"
)

// Host launches plugins on demand and keeps them until Close.
type Host struct {
	Catalog *Catalog
	Logger  hclog.Logger
	// StartTimeout bounds how long a plugin may take to complete the
	// handshake; zero means go-plugin's default (one minute).
	StartTimeout time.Duration

	mu      sync.Mutex
	clients map[string]*running
}

type running struct {
	entry  Entry
	client *goplugin.Client
	raw    any
	info   mode.Info
}

// NewHost makes a host over a catalog. logger receives the plugins' logs.
func NewHost(c *Catalog, logger hclog.Logger) *Host {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Host{Catalog: c, Logger: logger, clients: map[string]*running{}}
}

// ChecksumError says a plugin binary does not match its listed sha256.
type ChecksumError struct {
	Name, Path, Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("plugin %q: %s does not match the sha256 in plugins.yaml (want %.12s…, got %.12s…); refusing to run it", e.Name, e.Path, e.Want, e.Got)
}

// LaunchError says a plugin could not be started or did not answer.
type LaunchError struct {
	Name, Path string
	Err        error
	// Handshake is set when the binary did not complete the plugin
	// handshake (it is not a swcli plugin, or it died first).
	Handshake bool
}

func (e *LaunchError) Error() string {
	return fmt.Sprintf("plugin %q (%s) failed to start: %v", e.Name, e.Path, e.Err)
}
func (e *LaunchError) Unwrap() error { return e.Err }

// CrashError says a running plugin went away during a call.
type CrashError struct {
	Name, Path string
	Err        error
}

func (e *CrashError) Error() string {
	return fmt.Sprintf("plugin %q (%s) crashed or was killed: %v", e.Name, e.Path, e.Err)
}
func (e *CrashError) Unwrap() error { return e.Err }

// FileSHA256 is the hex sha256 of a file, as plugins.yaml's sha256 gives
// it (internal/filehash).
func FileSHA256(path string) (string, error) { return filehash.SHA256(path) }

// Verify checks that the entry's binary exists and matches its sha256.
func Verify(e Entry) error {
	if err := checkExecutable(e); err != nil {
		return err
	}
	return verifySum(e)
}

// checkExecutable checks that the entry's binary exists and can be run.
func checkExecutable(e Entry) error {
	st, err := os.Stat(e.Path)
	if err != nil {
		return &LaunchError{Name: e.Name, Path: e.Path, Err: errors.New("binary not found (run `make build`?)")}
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return &LaunchError{Name: e.Name, Path: e.Path, Err: errors.New("not an executable file")}
	}
	return nil
}

// verifySum checks the entry's binary against its listed sha256, if any.
func verifySum(e Entry) error {
	if e.SHA256 == "" {
		return nil
	}
	got, err := FileSHA256(e.Path)
	if err != nil {
		return &LaunchError{Name: e.Name, Path: e.Path, Err: err}
	}
	if got != e.SHA256 {
		return &ChecksumError{Name: e.Name, Path: e.Path, Want: e.SHA256, Got: got}
	}
	return nil
}

// start launches a plugin (once) and dispenses its kind.
func (h *Host) start(ctx context.Context, name, kind string) (*running, error) {
	return h.startWith(ctx, name, name, kind, nil)
}

// startWith launches plugin name (once per id) with env added to its
// environment, and dispenses its kind.
func (h *Host) startWith(ctx context.Context, id, name, kind string, env []string) (*running, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.clients[id]; ok {
		if !r.client.Exited() {
			return r, nil
		}
		delete(h.clients, id)
	}
	e, err := h.Catalog.Lookup(name, kind)
	if err != nil {
		return nil, err
	}
	// The checksum itself is checked once, by go-plugin (SecureConfig) right
	// before it runs the binary; hashing it here as well would double the
	// cost of every plugin start.
	if err := checkExecutable(e); err != nil {
		return nil, err
	}
	cmd := exec.Command(e.Path, e.Args...)
	// The plugin gets SIGTERM when the host dies, even by SIGKILL; the sdk
	// then cancels running calls (killing pip or conda) and exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cfg := &goplugin.ClientConfig{
		HandshakeConfig:  pluginwire.Handshake,
		VersionedPlugins: pluginwire.ClientSets(),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           h.Logger.Named(name),
		Managed:          true,
		StartTimeout:     h.StartTimeout,
		GRPCDialOptions:  pluginwire.DialOptions(),
	}
	if e.SHA256 != "" {
		sum, _ := hex.DecodeString(e.SHA256)
		cfg.SecureConfig = &goplugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	c := goplugin.NewClient(cfg)
	rpc, err := c.Client()
	if err != nil {
		c.Kill()
		if errors.Is(err, goplugin.ErrChecksumsDoNotMatch) {
			if verr := verifySum(e); verr != nil {
				return nil, verr
			}
		}
		return nil, &LaunchError{Name: name, Path: e.Path, Err: err, Handshake: true}
	}
	// An entry without a kind is a binary being probed (plugin install):
	// every plugin serves Info, whatever kind is dispensed.
	kindToDispense := e.Kind
	if kindToDispense == "" {
		kindToDispense = pluginwire.KindMode
	}
	raw, err := rpc.Dispense(kindToDispense)
	if err != nil {
		c.Kill()
		return nil, &LaunchError{Name: name, Path: e.Path, Err: err}
	}
	r := &running{entry: e, client: c, raw: raw}
	type infoer interface {
		Info(context.Context) (mode.Info, error)
	}
	if ie, ok := raw.(infoer); ok {
		info, err := ie.Info(ctx)
		if err != nil {
			c.Kill()
			return nil, &LaunchError{Name: name, Path: e.Path, Err: fmt.Errorf("Info: %w", err)}
		}
		if e.Kind != "" && info.Kind != e.Kind {
			c.Kill()
			return nil, &LaunchError{Name: name, Path: e.Path, Err: fmt.Errorf("it says it is a %q plugin, plugins.yaml says %q", info.Kind, e.Kind)}
		}
		if !slices.Contains(info.ProtocolVersions, mode.ProtocolVersion) {
			c.Kill()
			return nil, &LaunchError{Name: name, Path: e.Path, Err: fmt.Errorf("speaks protocol %v, swcli speaks %d", info.ProtocolVersions, mode.ProtocolVersion)}
		}
		r.info = info
	}
	h.clients[id] = r
	return r, nil
}

// Mode launches (if needed) the mode plugin name.
func (h *Host) Mode(ctx context.Context, name string) (mode.Mode, error) {
	r, err := h.start(ctx, name, pluginwire.KindMode)
	if err != nil {
		return nil, err
	}
	cm := &crashMode{m: r.raw.(mode.Mode), crash: crash{name: name, path: r.entry.Path, c: r.client, h: h}}
	return mode.Checked(name, r.info, cm), nil
}

// Store launches (if needed) the store plugin name.
func (h *Host) Store(ctx context.Context, name string) (store.Store, error) {
	r, err := h.start(ctx, name, pluginwire.KindStore)
	if err != nil {
		return nil, err
	}
	cs := &crashStore{s: r.raw.(store.Store), crash: crash{name: name, path: r.entry.Path, c: r.client, h: h}}
	return store.Checked(name, cs), nil
}

// StoreEnv is the environment variable that carries a store URL to the
// store plugin launched for it (see StoreAt).
const StoreEnv = "SW_STORE_URL"

// StoreAt launches (if needed) an instance of store plugin name for the
// store URL rawURL, given to it in SW_STORE_URL: each URL gets its own
// plugin process, so one host can hold several stores of one plugin.
// Checking the URL against what the plugin accepts is core/storeurl's job.
// It also returns the plugin's Info.
func (h *Host) StoreAt(ctx context.Context, name, rawURL string) (store.Store, mode.Info, error) {
	id := name + " " + rawURL
	r, err := h.startWith(ctx, id, name, pluginwire.KindStore, []string{StoreEnv + "=" + rawURL})
	if err != nil {
		return nil, mode.Info{}, err
	}
	cs := &crashStore{s: r.raw.(store.Store), crash: crash{name: id, path: r.entry.Path, c: r.client, h: h}}
	return store.Checked(name, cs), r.info, nil
}

// StopStoreAt stops the instance StoreAt started for name and rawURL, if
// it runs.
func (h *Host) StopStoreAt(name, rawURL string) {
	h.mu.Lock()
	r, ok := h.clients[name+" "+rawURL]
	h.mu.Unlock()
	if ok {
		h.forget(name+" "+rawURL, r.client)
	}
}

// Info launches the plugin and returns its Info.
func (h *Host) Info(ctx context.Context, name string) (mode.Info, Entry, error) {
	r, err := h.start(ctx, name, "")
	if err != nil {
		return mode.Info{}, Entry{}, err
	}
	return r.info, r.entry, nil
}

// PIDs lists the process ids of running plugins (for tests and diagnostics).
func (h *Host) PIDs() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, r := range h.clients {
		if rc := r.client.ReattachConfig(); rc != nil && rc.Pid > 0 {
			out = append(out, rc.Pid)
		}
	}
	return out
}

// Close kills every plugin this host started.
func (h *Host) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for n, r := range h.clients {
		r.client.Kill()
		delete(h.clients, n)
	}
}

// forget drops a plugin client that crashed, so the next call starts the
// plugin again (go-plugin notices the exit only a moment later).
func (h *Host) forget(name string, c *goplugin.Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.clients[name]; ok && r.client == c {
		delete(h.clients, name)
	}
	c.Kill()
}

// crash turns a lost connection to a plugin into a *CrashError naming it,
// and makes the host start the plugin afresh on the next call.
type crash struct {
	name string
	path string
	c    *goplugin.Client
	h    *Host
}

func (c *crash) wrap(err error) error {
	var ce *pluginwire.ConnectionError
	if errors.As(err, &ce) || (err != nil && c.c.Exited()) {
		c.h.forget(c.name, c.c)
		return &CrashError{Name: c.name, Path: c.path, Err: err}
	}
	return err
}

// crashMode is a mode plugin's client with crashes named.
type crashMode struct {
	m mode.Mode
	crash
}

func (c *crashMode) Info(ctx context.Context) (mode.Info, error) {
	i, err := c.m.Info(ctx)
	return i, c.wrap(err)
}
func (c *crashMode) Doctor(ctx context.Context, r mode.DoctorRequest) (mode.DoctorReport, error) {
	v, err := c.m.Doctor(ctx, r)
	return v, c.wrap(err)
}
func (c *crashMode) Create(ctx context.Context, r mode.CreateRequest, ev mode.Events) error {
	return c.wrap(c.m.Create(ctx, r, ev))
}
func (c *crashMode) Install(ctx context.Context, r mode.InstallRequest, ev mode.Events) error {
	return c.wrap(c.m.Install(ctx, r, ev))
}
func (c *crashMode) Lock(ctx context.Context, r mode.LockRequest, ev mode.Events) (mode.Lock, error) {
	v, err := c.m.Lock(ctx, r, ev)
	return v, c.wrap(err)
}
func (c *crashMode) Restore(ctx context.Context, r mode.RestoreRequest, ev mode.Events) error {
	return c.wrap(c.m.Restore(ctx, r, ev))
}
func (c *crashMode) Files(ctx context.Context, r mode.FilesRequest) (mode.FilesReport, error) {
	v, err := c.m.Files(ctx, r)
	return v, c.wrap(err)
}
func (c *crashMode) Relocate(ctx context.Context, r mode.RelocateRequest, ev mode.Events) error {
	return c.wrap(c.m.Relocate(ctx, r, ev))
}
func (c *crashMode) Activation(ctx context.Context, r mode.ActivationRequest) (mode.Activation, error) {
	v, err := c.m.Activation(ctx, r)
	return v, c.wrap(err)
}

// crashStore is a store plugin's client with crashes named, including one
// that happens while a Get stream is read.
type crashStore struct {
	s store.Store
	crash
}

func (c *crashStore) Put(ctx context.Context, key string, r io.Reader, o store.PutOptions) error {
	return c.wrap(c.s.Put(ctx, key, r, o))
}
func (c *crashStore) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	rc, err := c.s.Get(ctx, key, off, n)
	if err != nil {
		return nil, c.wrap(err)
	}
	return &crashReader{rc: rc, c: &c.crash}, nil
}

// PutSized keeps the plugin client's store.SizedPutter visible.
func (c *crashStore) PutSized(ctx context.Context, key string, r io.Reader, size int64, o store.PutOptions) error {
	return c.wrap(store.PutSized(ctx, c.s, key, r, size, o))
}

// GetWithInfo keeps the plugin client's store.InfoGetter visible.
func (c *crashStore) GetWithInfo(ctx context.Context, key string, off, n int64) (io.ReadCloser, store.Info, error) {
	rc, i, err := store.GetWithInfo(ctx, c.s, key, off, n)
	if err != nil {
		return nil, store.Info{}, c.wrap(err)
	}
	return &crashReader{rc: rc, c: &c.crash}, i, nil
}

// Compose keeps the plugin client's store.Composer visible.
func (c *crashStore) Compose(ctx context.Context, dst string, srcs []string) error {
	return c.wrap(store.ComposeOf(ctx, c.s, dst, srcs))
}

// GetURL keeps the plugin client's store.URLGetter visible.
func (c *crashStore) GetURL(ctx context.Context, key string, off, n int64) (string, http.Header, error) {
	u, h, err := store.GetURL(ctx, c.s, key, off, n)
	if errors.Is(err, store.ErrNoURL) {
		return "", nil, err
	}
	return u, h, c.wrap(err)
}
func (c *crashStore) Stat(ctx context.Context, key string) (store.Info, error) {
	i, err := c.s.Stat(ctx, key)
	return i, c.wrap(err)
}
func (c *crashStore) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	return c.wrap(c.s.List(ctx, prefix, fn))
}
func (c *crashStore) Delete(ctx context.Context, key string) error {
	return c.wrap(c.s.Delete(ctx, key))
}

type crashReader struct {
	rc io.ReadCloser
	c  *crash
}

func (r *crashReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF {
		err = r.c.wrap(err)
	}
	return n, err
}
func (r *crashReader) Close() error { return r.c.wrap(r.rc.Close()) }
