package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/swcli/swcli/core/server"
)

// funcs are the template helpers.
var funcs = template.FuncMap{
	"bytes": func(n int64) string { return humanize.IBytes(uint64(max(n, 0))) },
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"join":  strings.Join,
	"hex12": func(s fmt.Stringer) string {
		e := s.String()
		e = e[strings.IndexByte(e, ':')+1:]
		return e[:min(12, len(e))]
	},
	"orDash":  func(s string) string { return map[bool]string{true: "—", false: s}[s == ""] },
	"runtime": runtimeURL,
	"version": versionURL,
	"project": projectURL,
	"tokenRow": func(t server.Token, p page) tokenRow {
		d, _ := p.Data.(tokensData)
		return tokenRow{T: t, Current: d.Current, CSRF: p.V.CSRF}
	},
}

// tokenRow is one row of the tokens page.
type tokenRow struct {
	T             server.Token
	Current, CSRF string
}
