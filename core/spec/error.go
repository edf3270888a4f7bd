package spec

import (
	"fmt"
	"strings"
)

// Error is a problem in a runtime.yaml (or in a value checked on its own,
// such as a --name flag, when File is empty). Error() is always one line:
//
//	runtime.yaml:3:7: mode: "foo" is not a mode; allowed: venv, conda
type Error struct {
	File string // the runtime.yaml as named to Load or Parse; may be empty
	Line int    // 1-based; 0 when unknown
	Col  int    // 1-based; 0 when unknown
	// Field is the dotted path of the field, e.g. "dependencies[2].pip[0]".
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Col > 0 {
				fmt.Fprintf(&b, ":%d", e.Col)
			}
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(oneLine(e.Msg))
	return b.String()
}

// oneLine folds any line breaks so an error message stays on one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
