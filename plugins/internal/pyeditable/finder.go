package pyeditable

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	// MAPPING = {...} or, in newer setuptools, MAPPING: dict[str, str] = {...}
	mappingRE   = regexp.MustCompile(`(?m)^MAPPING\s*(?::[^=\n]*)?=\s*\{`)
	mapModuleRE = regexp.MustCompile(`\.map_module\(\s*`)
)

// ParseFinder reads the modules and packages an editable finder module maps
// to paths: setuptools' MAPPING dict literal ({'pkg': '/abs/pkg', 'mod':
// '/abs/mod.py'}, dotted names for packages inside namespaces) or the
// editables library's map_module('pkg', '/abs/pkg/__init__.py') calls. It
// returns nothing (and no error) for a module that is neither.
func ParseFinder(src string) ([]Target, error) {
	var out []Target
	if loc := mappingRE.FindStringIndex(src); loc != nil {
		m, err := parseDict(src, loc[1]-1)
		if err != nil {
			return nil, fmt.Errorf("MAPPING: %v", err)
		}
		out = append(out, m...)
	}
	for _, loc := range mapModuleRE.FindAllStringIndex(src, -1) {
		i := loc[1]
		name, j, err := pyString(src, i)
		if err != nil {
			return nil, fmt.Errorf("map_module: %v", err)
		}
		j = skipSpace(src, j)
		if j >= len(src) || src[j] != ',' {
			return nil, fmt.Errorf("map_module: want a comma at offset %d", j)
		}
		p, _, err := pyString(src, skipSpace(src, j+1))
		if err != nil {
			return nil, fmt.Errorf("map_module: %v", err)
		}
		out = append(out, Target{Name: name, Path: p})
	}
	return out, nil
}

// parseDict parses a dict literal of string keys and string values starting
// at src[i] == '{'.
func parseDict(src string, i int) ([]Target, error) {
	if i >= len(src) || src[i] != '{' {
		return nil, fmt.Errorf("want '{' at offset %d", i)
	}
	var out []Target
	i = skipSpace(src, i+1)
	for {
		if i >= len(src) {
			return nil, fmt.Errorf("unterminated dict")
		}
		if src[i] == '}' {
			return out, nil
		}
		k, j, err := pyString(src, i)
		if err != nil {
			return nil, err
		}
		j = skipSpace(src, j)
		if j >= len(src) || src[j] != ':' {
			return nil, fmt.Errorf("want ':' at offset %d", j)
		}
		v, j, err := pyString(src, skipSpace(src, j+1))
		if err != nil {
			return nil, err
		}
		out = append(out, Target{Name: k, Path: v})
		j = skipSpace(src, j)
		if j < len(src) && src[j] == ',' {
			j = skipSpace(src, j+1)
		}
		i = j
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && strings.IndexByte(" \t\r\n", s[i]) >= 0 {
		i++
	}
	return i
}

// pyString parses the Python string literal at s[i] ('...' or "...", as
// repr() writes them, with an optional r/u prefix) and returns its value
// and the offset after it.
func pyString(s string, i int) (string, int, error) {
	raw := false
	for i < len(s) && strings.IndexByte("rRuU", s[i]) >= 0 {
		raw = raw || s[i] == 'r' || s[i] == 'R'
		i++
	}
	if i >= len(s) || (s[i] != '\'' && s[i] != '"') {
		return "", i, fmt.Errorf("want a string at offset %d", i)
	}
	q := s[i]
	var b strings.Builder
	for j := i + 1; j < len(s); {
		c := s[j]
		switch {
		case c == q:
			return b.String(), j + 1, nil
		case c == '\n':
			return "", j, fmt.Errorf("unterminated string at offset %d", i)
		case c == '\\' && j+1 < len(s):
			if raw {
				b.WriteByte(c)
				b.WriteByte(s[j+1])
				j += 2
				continue
			}
			e := s[j+1]
			j += 2
			switch e {
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'v':
				b.WriteByte('\v')
			case '\n':
			case 'x', 'u', 'U':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if j+n > len(s) {
					return "", j, fmt.Errorf("bad \\%c escape at offset %d", e, j)
				}
				v, err := strconv.ParseUint(s[j:j+n], 16, 32)
				if err != nil || !utf8.ValidRune(rune(v)) {
					return "", j, fmt.Errorf("bad \\%c escape at offset %d", e, j)
				}
				b.WriteRune(rune(v))
				j += n
			default:
				if e >= '0' && e <= '7' {
					k := j - 1
					for k < len(s) && k < j+2 && s[k] >= '0' && s[k] <= '7' {
						k++
					}
					v, _ := strconv.ParseUint(s[j-1:k], 8, 32)
					b.WriteRune(rune(v))
					j = k
					continue
				}
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
			j++
		}
	}
	return "", len(s), fmt.Errorf("unterminated string at offset %d", i)
}
