package store

import "strings"

// ValidateKey reports whether key follows the key rules of the package
// documentation, as an *InvalidKeyError. Stores call it on every key they are
// given; a store may refuse more keys than this (for example names it keeps
// for itself) but never fewer.
func ValidateKey(key string) error {
	if key == "" {
		return &InvalidKeyError{Key: key, Reason: "empty key"}
	}
	if key[0] == '/' {
		return &InvalidKeyError{Key: key, Reason: "leading slash"}
	}
	for _, seg := range strings.Split(key, "/") {
		if err := validSegment(key, seg); err != nil {
			return err
		}
	}
	return nil
}

// ValidatePrefix checks a List prefix: "" (everything), or a key, or a key
// followed by "/", or a key whose last segment is cut short (any leading part
// of a valid segment, "." included).
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if prefix[0] == '/' {
		return &InvalidKeyError{Key: prefix, Reason: "leading slash"}
	}
	segs := strings.Split(prefix, "/")
	last := segs[len(segs)-1]
	for _, seg := range segs[:len(segs)-1] {
		if err := validSegment(prefix, seg); err != nil {
			return err
		}
	}
	for i := 0; i < len(last); i++ {
		if !keyChar(last[i]) {
			return &InvalidKeyError{Key: prefix, Reason: badChar(last[i])}
		}
	}
	return nil
}

func validSegment(key, seg string) error {
	switch seg {
	case "":
		return &InvalidKeyError{Key: key, Reason: "empty segment (double or trailing slash)"}
	case ".", "..":
		return &InvalidKeyError{Key: key, Reason: "segment " + seg + " is not allowed"}
	}
	for i := 0; i < len(seg); i++ {
		if !keyChar(seg[i]) {
			return &InvalidKeyError{Key: key, Reason: badChar(seg[i])}
		}
	}
	return nil
}

func keyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

func badChar(c byte) string {
	return "character " + quoteByte(c) + " is not allowed (segments use A-Z a-z 0-9 . _ -)"
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return `'\x` + string(hex[c>>4]) + string(hex[c&0xf]) + "'"
}
