// Package uri owns resource URIs: parsing, validating and printing the names
// by which the CLI refers to runtimes, their versions and tags, projects and
// bundle files:
//
//	[INSTANCE/]project/PROJECT[/KIND/NAME[/version/VERSION|TAG]]
//	NAME
//	NAME/version/VERSION|TAG
//	FILE.swrt, FILE.swmp, FILE.swds
//
// KIND is runtime, model or dataset (Artifact); a bundle file's extension
// gives its kind (.swrt runtime, .swmp model, .swds dataset).
//
// INSTANCE is "local" (the standalone store), a cloud instance alias,
// "cloud://ALIAS", "http(s)://host[:port]", or "oci://host[:port]" (any OCI
// registry; runtime NAME of project P is its repository P/runtime/NAME). The instance and project
// default to "local" and "self".
//
// An OCI registry is also named the way OCI tools name an artifact:
//
//	oci://HOST[:PORT]/REPO[:TAG|@DIGEST]
//
// with REPO any repository (team/envs/mnist); its last component is the
// runtime name. A path that starts with project/ is the project form above.
//
// The package is pure: it does not look up instances, resolve version
// prefixes or tags, or touch a store. IsWorkdir is its one look at the disk,
// for callers that accept a workdir where they accept a URI.
package uri

import (
	"cmp"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/swcli/swcli/core/spec"
)

// Defaults for the parts a short URI leaves out.
const (
	LocalInstance  = "local"
	DefaultProject = "self"
	// BundleExt ends a runtime bundle file path.
	BundleExt = ".swrt"
)

// Artifact kinds as URIs write them, and the extension of each kind's
// bundle files.
const (
	ArtifactRuntime = "runtime"
	ArtifactModel   = "model"
	ArtifactDataset = "dataset"
)

// FileExts maps a bundle file extension to its artifact kind.
var FileExts = map[string]string{BundleExt: ArtifactRuntime, ".swmp": ArtifactModel, ".swds": ArtifactDataset}

// ExtOf is the bundle file extension of an artifact kind ("" is a runtime).
func ExtOf(artifact string) string {
	for ext, a := range FileExts {
		if a == artifact {
			return ext
		}
	}
	return BundleExt
}

// Forms lists the accepted forms; every error ends with it.
const Forms = "allowed forms: NAME, NAME/version/VERSION, [INSTANCE/]project/P[/runtime|model|dataset/NAME[/version/V]], oci://HOST[:PORT]/REPO[:TAG|@DIGEST], FILE.swrt|.swmp|.swds"

// Kind is what a URI names.
type Kind string

const (
	KindFile    Kind = "file"    // a .swrt bundle file
	KindProject Kind = "project" // a project of an instance
	KindRuntime Kind = "runtime" // a runtime (all its versions)
	KindVersion Kind = "version" // one version or tag of a runtime
)

var (
	versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	digestRE  = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	aliasRE   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$`)
	hostRE    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	// ociComponentRE is a repository path component (OCI distribution spec).
	ociComponentRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)
)

// ociRepoMax is the longest repository name the CNCF registry accepts.
const ociRepoMax = 255

// URI names a resource. For a bundle file only File is set.
type URI struct {
	// Instance is "local", a cloud alias, "http(s)://host[:port]" or
	// "oci://host[:port]"
	// (lowercase, no trailing slash). "cloud://ALIAS" is kept as ALIAS.
	Instance string
	Project  string
	Name     string
	// Version is a version (or a prefix of one) or a tag.
	Version string
	// File is the path of a bundle file, as given.
	File string
	// Artifact is the kind the URI names: "runtime", "model" or "dataset"
	// (from the KIND part or the file extension); "" when the input did not
	// say (a short form NAME or a project), and the command decides.
	Artifact string

	// Repository is the OCI repository an oci://HOST[:PORT]/REPO[:TAG|@DIGEST]
	// reference names (REPO, any depth); "" for every other form. Instance
	// is then that repository's namespace (OCINamespace), Name its last
	// component and Version the tag or digest.
	Repository string

	// ExplicitInstance and ExplicitProject tell whether the input named them
	// rather than taking the defaults.
	ExplicitInstance bool
	ExplicitProject  bool
}

// OCINamespace is how an instance is written that holds the runtimes of
// the repositories under namespace ns (NS/NAME; ns "" for top-level
// repositories) of the registry base ("oci://host[:port]"): base + "/" +
// ns + "/", or base + "/" for the top level. The trailing slash tells it
// from the project form's instance (base alone), whose runtime NAME of
// project P is the repository P/runtime/NAME.
func OCINamespace(base, ns string) string {
	if ns == "" {
		return base + "/"
	}
	return base + "/" + ns + "/"
}

// SplitOCINamespace undoes OCINamespace: ok is false for an instance that
// is not an OCI namespace (the project form's "oci://host[:port]", a cloud
// instance, local).
func SplitOCINamespace(inst string) (base, ns string, ok bool) {
	rest, isOCI := strings.CutPrefix(inst, "oci://")
	if !isOCI || !strings.HasSuffix(rest, "/") {
		return "", "", false
	}
	host, ns, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	return "oci://" + host, ns, true
}

// Error is a URI that cannot be parsed. Error() is one line.
type Error struct {
	Input string
	Msg   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("uri %q: %s; %s", e.Input, e.Msg, Forms)
}

// Kind tells what u names.
func (u URI) Kind() Kind {
	switch {
	case u.File != "":
		return KindFile
	case u.Name == "":
		return KindProject
	case u.Version == "":
		return KindRuntime
	}
	return KindVersion
}

// IsLocal tells whether u names the standalone instance.
func (u URI) IsLocal() bool { return u.File == "" && (u.Instance == "" || u.Instance == LocalInstance) }

// String is the canonical form: the full form with instance and project for
// resources, the path for a file.
func (u URI) String() string {
	if u.File != "" {
		return u.File
	}
	if base, _, ok := SplitOCINamespace(u.Instance); ok && u.Repository != "" {
		s := base + "/" + u.Repository
		switch {
		case digestRE.MatchString(u.Version):
			s += "@" + u.Version
		case u.Version != "":
			s += ":" + u.Version
		}
		return s
	}
	inst, proj := u.Instance, u.Project
	if inst == "" {
		inst = LocalInstance
	}
	if proj == "" {
		proj = DefaultProject
	}
	var b strings.Builder
	b.WriteString(inst)
	b.WriteString("/project/")
	b.WriteString(proj)
	if u.Name != "" {
		b.WriteString("/")
		b.WriteString(cmp.Or(u.Artifact, ArtifactRuntime))
		b.WriteString("/")
		b.WriteString(u.Name)
		if u.Version != "" {
			b.WriteString("/version/")
			b.WriteString(u.Version)
		}
	}
	return b.String()
}

// IsWorkdir tells whether s is an existing directory, so that a command that
// takes a workdir or a URI can try the workdir first.
func IsWorkdir(s string) bool {
	if s == "" {
		return false
	}
	fi, err := os.Stat(s)
	return err == nil && fi.IsDir()
}

// IsFile tells whether s names a bundle file (ends in .swrt, .swmp or .swds
// and is not a URL).
func IsFile(s string) bool { return fileExt(s) != "" && !strings.Contains(s, "://") }

func fileExt(s string) string {
	for ext := range FileExts {
		if strings.HasSuffix(s, ext) {
			return ext
		}
	}
	return ""
}

// Parse parses a URI or a bundle file path. Instance and project default to
// "local" and "self". Errors are *Error.
func Parse(s string) (URI, error) {
	fail := func(format string, args ...any) (URI, error) {
		return URI{}, &Error{Input: s, Msg: fmt.Sprintf(format, args...)}
	}
	if s == "" {
		return fail("empty")
	}
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, "\x00\n\r\t") {
		return fail("contains spaces or control characters")
	}
	if IsFile(s) {
		ext := fileExt(s)
		if s == ext || strings.HasSuffix(s, "/"+ext) {
			return fail("a bundle file needs a name before %s", ext)
		}
		return URI{File: s, Artifact: FileExts[ext]}, nil
	}

	u := URI{Instance: LocalInstance, Project: DefaultProject}
	rest := s
	if i := strings.Index(s, "://"); i >= 0 {
		inst, r, err := parseURLInstance(s)
		if err != "" {
			return fail("%s", err)
		}
		if r == "" {
			return fail("an instance alone is not a resource; add /project/P")
		}
		u.Instance, u.ExplicitInstance, rest = inst, true, r
		if strings.HasPrefix(inst, "oci://") && !strings.HasPrefix(r, "project/") {
			if err := u.setRepository(r); err != "" {
				return fail("%s", err)
			}
			return u, nil
		}
	}
	parts := strings.Split(rest, "/")
	for _, p := range parts {
		if p == "" {
			return fail("empty part between slashes")
		}
	}
	if !u.ExplicitInstance {
		switch {
		case len(parts) == 1, len(parts) == 3 && parts[1] == "version":
			// NAME or NAME/version/V
			if err := u.setName(parts[0]); err != "" {
				return fail("%s", err)
			}
			if len(parts) == 3 {
				if err := u.setVersion(parts[2]); err != "" {
					return fail("%s", err)
				}
			}
			return u, nil
		case parts[0] == "project" && len(parts)%2 == 0:
			// project/P...
		case len(parts) >= 3 && parts[1] == "project":
			inst := parts[0]
			if !aliasRE.MatchString(inst) {
				return fail("instance %q is not an alias; allowed instances: local, an alias ([A-Za-z0-9._-]), cloud://ALIAS, http(s)://host:port", inst)
			}
			u.Instance, u.ExplicitInstance = inst, true
			parts = parts[1:]
		default:
			return fail("not a URI")
		}
	}
	// parts is now project/P[/KIND/NAME[/version/V]].
	if len(parts) < 2 || parts[0] != "project" {
		return fail("expected project/P after the instance")
	}
	if len(parts) != 2 && len(parts) != 4 && len(parts) != 6 {
		return fail("wrong number of parts")
	}
	if err := validProject(parts[1]); err != "" {
		return fail("%s", err)
	}
	u.Project, u.ExplicitProject = parts[1], true
	if len(parts) >= 4 {
		switch parts[2] {
		case ArtifactRuntime, ArtifactModel, ArtifactDataset:
			u.Artifact = parts[2]
		default:
			return fail("expected runtime/NAME, model/NAME or dataset/NAME after project/%s, got %s/", parts[1], parts[2])
		}
		if err := u.setName(parts[3]); err != "" {
			return fail("%s", err)
		}
	}
	if len(parts) == 6 {
		if parts[4] != "version" {
			return fail("expected version/V after %s/%s, got %s/", parts[2], parts[3], parts[4])
		}
		if err := u.setVersion(parts[5]); err != "" {
			return fail("%s", err)
		}
	}
	return u, nil
}

// setRepository parses REPO[:TAG|@DIGEST] of an oci:// reference.
func (u *URI) setRepository(r string) string {
	repo, ver := r, ""
	if i := strings.LastIndexByte(r, '@'); i >= 0 {
		repo, ver = r[:i], r[i+1:]
		if !digestRE.MatchString(ver) {
			return fmt.Sprintf("%q is not a digest; allowed: @sha256:<64 hex digits>", ver)
		}
	} else if i := strings.LastIndexByte(r, ':'); i > strings.LastIndexByte(r, '/') {
		repo, ver = r[:i], r[i+1:]
		if ver == "" {
			return "an empty tag after ':'"
		}
	}
	if len(repo) > ociRepoMax {
		return fmt.Sprintf("the OCI repository is %d characters long; allowed: at most %d", len(repo), ociRepoMax)
	}
	parts := strings.Split(repo, "/")
	for _, p := range parts {
		if p == "" {
			return "empty part between slashes"
		}
		if !ociComponentRE.MatchString(p) {
			return fmt.Sprintf("%q is not an OCI repository component; allowed: [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*", p)
		}
	}
	name := parts[len(parts)-1]
	if spec.ValidateName(name) != nil {
		return fmt.Sprintf("%q, the last part of the OCI repository, is the runtime name; %s", name, spec.NameRule)
	}
	if ver != "" {
		if err := u.setVersion(ver); err != "" {
			return err
		}
	}
	u.Name, u.Repository = name, repo
	u.Instance = OCINamespace(u.Instance, strings.Join(parts[:len(parts)-1], "/"))
	return ""
}

func (u *URI) setName(name string) string {
	if err := spec.ValidateName(name); err != nil {
		return err.Error()
	}
	u.Name = name
	return ""
}

func (u *URI) setVersion(v string) string {
	if digestRE.MatchString(v) {
		// A full digest as -o json prints it ("sha256:<hex>").
		u.Version = v
		return ""
	}
	if !versionRE.MatchString(v) {
		return fmt.Sprintf("%q is not a version or tag; allowed: [A-Za-z0-9][A-Za-z0-9._-]{0,127}", v)
	}
	u.Version = v
	return ""
}

// validProject checks a project name; projects follow the runtime name rule
// (they are OCI repository components on a cloud instance).
func validProject(p string) string {
	if spec.ValidateName(p) != nil {
		return fmt.Sprintf("%q is not a project name; %s", p, spec.NameRule)
	}
	return ""
}

// parseURLInstance splits "cloud://alias/rest" or "http(s)|oci://host[:port]/rest"
// into the instance and rest (without its leading slash).
func parseURLInstance(s string) (inst, rest, problem string) {
	i := strings.Index(s, "://")
	scheme := strings.ToLower(s[:i])
	after := s[i+3:]
	host := after
	if j := strings.IndexByte(after, '/'); j >= 0 {
		host, rest = after[:j], after[j+1:]
		if rest == "" {
			return "", "", "an instance alone is not a resource; add /project/P"
		}
	}
	switch scheme {
	case "cloud":
		if !aliasRE.MatchString(host) {
			return "", "", fmt.Sprintf("%q is not an instance alias; allowed: [A-Za-z0-9][A-Za-z0-9._-]{0,62}", host)
		}
		if host == LocalInstance {
			return "", "", "cloud://local is not an instance; local is the standalone instance (write local/project/P)"
		}
		return host, rest, ""
	case "http", "https", "oci":
		if strings.ContainsAny(host, "@?#") {
			return "", "", fmt.Sprintf("%q: user info, query and fragment are not allowed in an instance URL", host)
		}
		h, port := host, ""
		if strings.HasPrefix(host, "[") || strings.Count(host, ":") == 1 {
			var err error
			if h, port, err = net.SplitHostPort(host); err != nil {
				if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
					h, port = host[1:len(host)-1], ""
				} else {
					return "", "", fmt.Sprintf("%q is not host:port", host)
				}
			}
		}
		if port != "" {
			n, err := strconv.Atoi(port)
			if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
				return "", "", fmt.Sprintf("%q is not a port; allowed: 1-65535", port)
			}
		}
		if ip := net.ParseIP(h); ip == nil && !hostRE.MatchString(h) {
			return "", "", fmt.Sprintf("%q is not a host name or IP address", h)
		} else if ip != nil && strings.Contains(h, ":") {
			h = "[" + ip.String() + "]"
		}
		inst = scheme + "://" + strings.ToLower(h)
		if port != "" {
			inst += ":" + port
		}
		return inst, rest, ""
	}
	return "", "", fmt.Sprintf("scheme %q is not supported; allowed instances: local, an alias, cloud://ALIAS, http(s)://host:port, oci://host[:port]", scheme)
}
