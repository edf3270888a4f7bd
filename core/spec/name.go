package spec

import (
	"fmt"
	"regexp"
)

// MaxNameLen is the longest runtime name.
const MaxNameLen = 63

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*$`)
	pythonRE = regexp.MustCompile(`^[23]\.(0|[1-9][0-9]?)$`)
)

// NameRule says what a runtime name may be; it ends every name error.
const NameRule = "allowed: lowercase letters and digits, with single '.', '_' or '-' between them ([a-z0-9]+([._-][a-z0-9]+)*), at most 63 characters"

// PythonRule says what a Python version may be; it ends every Python error.
const PythonRule = `allowed: major.minor such as 3.8, 3.9 or "3.10" (quote versions like "3.10": unquoted YAML reads 3.10 as 3.1)`

// ValidateName checks a runtime name: [a-z0-9]+([._-][a-z0-9]+)* and at most
// 63 characters, so it is safe as a path segment, an S3 key part and an OCI
// repository component. The error is an *Error without position.
func ValidateName(name string) error {
	switch {
	case name == "":
		return &Error{Msg: "empty runtime name; " + NameRule}
	case len(name) > MaxNameLen:
		return &Error{Msg: fmt.Sprintf("runtime name %q is %d characters long; %s", name, len(name), NameRule)}
	case !nameRE.MatchString(name):
		return &Error{Msg: fmt.Sprintf("%q is not a valid runtime name; %s", name, NameRule)}
	}
	return nil
}

// ValidatePython checks a Python version of the form major.minor ("3.9",
// "3.10", "2.7"). The error is an *Error without position.
func ValidatePython(v string) error {
	if !pythonRE.MatchString(v) {
		return &Error{Msg: fmt.Sprintf("%q is not a Python version; %s", v, PythonRule)}
	}
	return nil
}
