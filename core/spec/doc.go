// Package spec owns runtime.yaml: the Spec model, loading both of its forms
// (Starwhale's seed form with mode, name, pip_req, python_version and
// starwhale_version, and the extended form with environment, dependencies and
// configs) into that one model, defaults, strict validation, the checks of the
// files a spec references, the canonical JSON the bundle manifest records, and
// the seed file `runtime create` writes.
//
// Every problem in a runtime.yaml is an *Error that names the file, line,
// column and field and says what is allowed; nothing is silently ignored:
// unknown keys, wrong types, bad names, bad Python versions, unknown
// dependency shapes and paths that leave the workdir are all errors.
//
// The package does not touch environments, bundles or stores, and it never
// reads anything but runtime.yaml itself (Load) and, in Check and Resolve,
// the existence of the files the spec names.
package spec
