package s3test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy stands between a store and a Server on 127.0.0.1 and injects the
// faults a real S3 service shows: throttling (503 SlowDown), dropped
// connections, and an outage (nothing listens). It forwards everything else
// untouched.
type Proxy struct {
	Endpoint string // http://127.0.0.1:PORT, stable across Stop and Start

	addr     string
	handler  http.Handler
	slowDown atomic.Int64
	drop     atomic.Int64
	// Requests counts the requests that reached the proxy.
	Requests atomic.Int64
	// Faults counts the requests answered with a fault.
	Faults atomic.Int64

	mu  sync.Mutex
	srv *http.Server

	callsMu sync.Mutex
	calls   []string
}

// maxCalls bounds what Calls remembers (a long push makes many requests).
const maxCalls = 10000

// NewProxy starts a proxy in front of s, stopped when the test ends.
func NewProxy(t testing.TB, s *Server) *Proxy {
	t.Helper()
	target, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{addr: fmt.Sprintf("127.0.0.1:%d", port)}
	p.Endpoint = "http://" + p.addr
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = nil
	p.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Requests.Add(1)
		p.record(r)
		if take(&p.slowDown) {
			p.Faults.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
			return
		}
		if take(&p.drop) {
			p.Faults.Add(1)
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					if tc, ok := c.(*net.TCPConn); ok {
						_ = tc.SetLinger(0) // a reset, as a dropped connection gives
					}
					c.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		rp.ServeHTTP(w, r)
	})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

func take(n *atomic.Int64) bool {
	for {
		v := n.Load()
		if v <= 0 {
			return false
		}
		if n.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

func (p *Proxy) record(r *http.Request) {
	p.callsMu.Lock()
	defer p.callsMu.Unlock()
	if len(p.calls) < maxCalls {
		c := r.Method + " " + r.URL.Path
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			c += " (copy)" // CopyObject, UploadPartCopy
		}
		p.calls = append(p.calls, c)
	}
}

// Calls returns "METHOD /bucket/key" (with " (copy)" for a copy inside
// the service) of each request that reached the
// proxy since the last Calls (at most the first 10000), and forgets them:
// tests count and print the S3 requests one call of theirs costs.
func (p *Proxy) Calls() []string {
	p.callsMu.Lock()
	defer p.callsMu.Unlock()
	out := p.calls
	p.calls = nil
	return out
}

// SlowDown answers the next n requests with 503 SlowDown.
func (p *Proxy) SlowDown(n int) { p.slowDown.Store(int64(n)) }

// Drop closes the connection of the next n requests without an answer.
func (p *Proxy) Drop(n int) { p.drop.Store(int64(n)) }

// Stop makes the service unreachable: the listener and every open
// connection are closed; new connections are refused.
func (p *Proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		_ = p.srv.Close()
		p.srv = nil
	}
}

// Start makes the service reachable again, on the same address.
func (p *Proxy) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		return nil
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger a moment after Stop
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	p.srv = &http.Server{Handler: p.handler}
	go func(s *http.Server) { _ = s.Serve(ln) }(p.srv)
	return nil
}

// URL is the store URL of bucket and prefix through the proxy.
func (p *Proxy) URL(bucket, prefix string) string {
	return (&Server{Endpoint: p.Endpoint}).URL(bucket, prefix)
}
