package testpy

import (
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/swcli/swcli/internal/filehash"
)

// ServeIndex serves wheelDir as a PEP 503 simple index on 127.0.0.1 for the
// duration of the test and returns the index URL (".../simple/"), ready for
// pip's --index-url. The folder is read on every request, so wheels added
// later are served too.
func ServeIndex(t testing.TB, wheelDir string) string {
	t.Helper()
	s := NewIndex(wheelDir)
	t.Cleanup(s.Close)
	return s.URL + "/simple/"
}

// NewIndex starts a PEP 503 simple index over wheelDir on 127.0.0.1; the
// caller closes it. The index is at URL+"/simple/": it lists one project per
// normalized name, and /simple/<name>/ lists that project's files with a
// #sha256= fragment; the files are served under /files/.
func NewIndex(wheelDir string) *httptest.Server {
	s := httptest.NewUnstartedServer(&index{dir: wheelDir})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("testpy: listen on 127.0.0.1: %v", err))
	}
	s.Listener = l
	s.Start()
	return s
}

type index struct{ dir string }

// projectOf returns the project name of a distribution file name.
func projectOf(file string) (string, bool) {
	switch {
	case strings.HasSuffix(file, ".whl"):
		i := strings.Index(file, "-")
		if i <= 0 {
			return "", false
		}
		return file[:i], true
	case strings.HasSuffix(file, ".tar.gz"), strings.HasSuffix(file, ".zip"):
		base := strings.TrimSuffix(strings.TrimSuffix(file, ".tar.gz"), ".zip")
		i := strings.LastIndex(base, "-")
		if i <= 0 {
			return "", false
		}
		return base[:i], true
	}
	return "", false
}

func (x *index) files() map[string][]string {
	ents, _ := os.ReadDir(x.dir)
	m := map[string][]string{}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		if p, ok := projectOf(e.Name()); ok {
			n := NormalizeName(p)
			m[n] = append(m[n], e.Name())
		}
	}
	return m
}

func (x *index) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/simple" || p == "/simple/":
		if p == "/simple" {
			http.Redirect(w, r, "/simple/", http.StatusMovedPermanently)
			return
		}
		m := x.files()
		var names []string
		for n := range m {
			names = append(names, n)
		}
		sort.Strings(names)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>Simple index</title></head><body>\n")
		for _, n := range names {
			fmt.Fprintf(w, "<a href=\"/simple/%s/\">%s</a><br/>\n", url.PathEscape(n), html.EscapeString(n))
		}
		io.WriteString(w, "</body></html>\n")
	case strings.HasPrefix(p, "/simple/"):
		name := strings.Trim(strings.TrimPrefix(p, "/simple/"), "/")
		if !strings.HasSuffix(p, "/") {
			http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
			return
		}
		norm := NormalizeName(name)
		if norm != name {
			http.Redirect(w, r, "/simple/"+norm+"/", http.StatusMovedPermanently)
			return
		}
		files := x.files()[norm]
		if len(files) == 0 {
			http.NotFound(w, r)
			return
		}
		sort.Strings(files)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>Links for %s</title></head><body>\n<h1>Links for %s</h1>\n", html.EscapeString(norm), html.EscapeString(norm))
		for _, f := range files {
			sum, err := filehash.SHA256(filepath.Join(x.dir, f))
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "<a href=\"/files/%s#sha256=%s\">%s</a><br/>\n", url.PathEscape(f), sum, html.EscapeString(f))
		}
		io.WriteString(w, "</body></html>\n")
	case strings.HasPrefix(p, "/files/"):
		f := strings.TrimPrefix(p, "/files/")
		if f == "" || strings.ContainsAny(f, "/\\") || f == ".." {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(x.dir, f))
	default:
		http.NotFound(w, r)
	}
}
