package dockerize

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/swcli/swcli/core/mode"
)

// Where things live in the image.
const (
	// EnvDir is the restored workdir; the environment is its
	// .starwhale/<mode> (see core/workflow.PrefixOf).
	EnvDir = "/opt/starwhale/env"
	// SwcliDir holds the swcli binary, the mode plugin and plugins.yaml.
	SwcliDir = "/opt/swcli/bin"
	// ProfileScript is the activation for login shells (/etc/profile
	// resets PATH on Debian and then sources /etc/profile.d).
	ProfileScript = "/etc/profile.d/swcli-runtime.sh"
	// bundleMount is where the build mounts the bundle (not kept in the image).
	bundleMount = "/tmp/swcli-bundle/runtime.swrt"
)

// LabelRuntimeVersion is the image label that holds the runtime version
// (its digest) the image restores: how a caller finds that an image it
// tagged is still that runtime's.
const LabelRuntimeVersion = "io.starwhale.runtime.version"

// Context file names, relative to the context folder.
const (
	DockerfileName = "Dockerfile"
	BundleName     = "runtime.swrt"
	binDir         = "swcli/bin"
)

// defaultPath is the PATH a container gets when its image sets none (the
// one Docker and podman use).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Runtime is what Render needs to know of a stored version.
type Runtime struct {
	Name string
	// Digest is the version (sha256:...); Short its 12-character form.
	Digest, Short string
	Mode          string
	// Python is the environment's X.Y.
	Python string
	// OS and Arch the environment was built for (Go names).
	OS, Arch string
	// SwcliVersion built the runtime; StarwhaleVersion is runtime.yaml's
	// starwhale_version.
	SwcliVersion, StarwhaleVersion string
	// CUDA, CUDNN and DockerImage are runtime.yaml's environment.cuda,
	// environment.cudnn and environment.docker.image.
	CUDA, CUDNN, DockerImage string
}

// Options are the choices of one dockerize besides the runtime.
type Options struct {
	// BaseImage overrides the base image (--base-image).
	BaseImage string
	// ImageRepo is the repository of derived base images (default
	// DefaultImageRepo).
	ImageRepo string
	// Activation is what the runtime's mode sets to activate the environment
	// at the image's prefix.
	Activation []mode.EnvVar
	// NeedPython says the base image must have the runtime's Python X.Y
	// (modes that are not self-contained make the environment with it).
	NeedPython bool
	// SwcliVersion is the version of the swcli that renders (and is copied).
	SwcliVersion string
	// Sources of the context files: the bundle, the swcli binary and the
	// mode plugin's binary, with its sha256.
	Bundle, Swcli, Plugin, PluginSHA256 string
}

// File is one file of the build context. Exactly one of Source (a file to
// copy) and Content is set.
type File struct {
	// Path is slash-separated, relative to the context folder.
	Path    string
	Mode    fs.FileMode
	Source  string
	Content []byte
}

// Plan is a rendered Dockerfile and the build context that goes with it.
type Plan struct {
	BaseImage  string
	Dockerfile []byte
	// Files of the context, sorted by Path, the Dockerfile included.
	Files []File
}

// Render makes the Dockerfile and the context file list for rt. It is pure:
// the same runtime and options give byte-identical output, and it reads no
// file (the Source files are copied by WriteContext).
func Render(rt Runtime, o Options) (*Plan, error) {
	base, err := BaseImage(rt, o)
	if err != nil {
		return nil, err
	}
	pluginName := "swcli-plugin-" + rt.Mode
	pluginsYAML := fmt.Sprintf("# Written by swcli runtime dockerize: the plugin that restores %s.\nplugins:\n  - name: %s\n    kind: mode\n    command: ./%s\n    sha256: %s\n",
		rt.Name, rt.Mode, pluginName, o.PluginSHA256)

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Written by swcli %s (swcli runtime dockerize): runtime %s version %s.\n", o.SwcliVersion, rt.Name, rt.Short)
	w("# Build it in this folder: docker buildx build -t IMAGE .   or   podman build -t IMAGE .\n")
	w("FROM %s\n", base)
	labels := [][2]string{
		{"org.opencontainers.image.title", rt.Name},
		{"org.opencontainers.image.description", fmt.Sprintf("Starwhale runtime %s (%s mode, Python %s)", rt.Name, rt.Mode, rt.Python)},
		{"org.opencontainers.image.version", rt.Short},
		{"org.opencontainers.image.revision", rt.Digest},
		{"org.opencontainers.image.base.name", base},
		{"io.starwhale.runtime.name", rt.Name},
		{LabelRuntimeVersion, rt.Digest},
		{"io.starwhale.runtime.mode", rt.Mode},
		{"io.starwhale.runtime.python", rt.Python},
		{"io.starwhale.runtime.swcli-version", rt.SwcliVersion},
		{"io.starwhale.swcli.version", o.SwcliVersion},
	}
	w("LABEL")
	for i, l := range labels {
		sep := " \\\n      "
		if i == 0 {
			sep = " "
		}
		w("%s%s=%s", sep, l[0], quote(l[1]))
	}
	w("\n")
	if o.NeedPython {
		py := "python" + rt.Python
		msg := fmt.Sprintf("swcli: base image %s has no Python %s (%s with its venv module on PATH), which runtime %s (%s mode) needs to restore; use a base image with Python %s (--base-image or environment.docker.image)",
			base, rt.Python, py, rt.Name, rt.Mode, rt.Python)
		w("# The environment is made with the base image's Python %s.\n", rt.Python)
		w("RUN %s -c 'import venv' >/dev/null 2>&1 || { echo %s >&2; exit 1; }\n", py, shQuote(msg))
	}
	w("COPY %s/ %s/\n", binDir, SwcliDir)
	w("# The bundle is mounted, not copied: the image holds the restored environment only.\n")
	w("RUN --mount=type=bind,source=%s,target=%s \\\n", BundleName, bundleMount)
	w("    SW_LOCAL_STORAGE=/tmp/swcli-storage %s/swcli runtime restore %s --target-dir %s \\\n", SwcliDir, bundleMount, EnvDir)
	w(" && SW_LOCAL_STORAGE=/tmp/swcli-storage %s/swcli runtime activate %s --print --shell sh > %s \\\n", SwcliDir, EnvDir, ProfileScript)
	w(" && rm -rf /tmp/swcli-storage\n")
	env := dockerEnv(o.Activation)
	env = append(env, [2]string{"SW_ACTIVE_RUNTIME", quote(rt.Name)})
	w("ENV")
	for i, e := range env {
		sep := " \\\n    "
		if i == 0 {
			sep = " "
		}
		w("%s%s=%s", sep, e[0], e[1])
	}
	w("\n")

	df := []byte(b.String())
	files := []File{
		{Path: DockerfileName, Mode: 0o644, Content: df},
		{Path: BundleName, Mode: 0o644, Source: o.Bundle},
		{Path: path.Join(binDir, "swcli"), Mode: 0o755, Source: o.Swcli},
		{Path: path.Join(binDir, pluginName), Mode: 0o755, Source: o.Plugin},
		{Path: path.Join(binDir, "plugins.yaml"), Mode: 0o644, Content: []byte(pluginsYAML)},
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return &Plan{BaseImage: base, Dockerfile: df, Files: files}, nil
}

// BaseImage is the image a runtime's image starts from: Options.BaseImage,
// else environment.docker.image, else the derived name (BaseImageName).
func BaseImage(rt Runtime, o Options) (string, error) {
	switch {
	case o.BaseImage != "":
		return o.BaseImage, checkRef("--base-image", o.BaseImage)
	case rt.DockerImage != "":
		return rt.DockerImage, checkRef("environment.docker.image", rt.DockerImage)
	}
	repo := o.ImageRepo
	if repo == "" {
		repo = DefaultImageRepo
	}
	sv := rt.StarwhaleVersion
	if sv == "" {
		sv = rt.SwcliVersion
	}
	return BaseImageName(repo, sv, rt.Python, rt.CUDA, rt.CUDNN)
}

// modeRef is how a mode's EnvVar value refers to an old value: ${NAME}.
var modeRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// dockerEnv turns a mode's activation variables into Dockerfile ENV pairs,
// each value a double-quoted Dockerfile word. ${NAME} stays a Dockerfile
// substitution of the base image's value; PATH falls back to the engines'
// default PATH (an imported base image sets none, and an empty entry would
// mean the current folder). Unsets cannot be expressed in a Dockerfile and
// are left to the login shell's script.
func dockerEnv(vars []mode.EnvVar) [][2]string {
	var out [][2]string
	for _, v := range vars {
		var b strings.Builder
		rest := v.Value
		for _, m := range modeRef.FindAllStringSubmatchIndex(v.Value, -1) {
			b.WriteString(escape(v.Value[len(v.Value)-len(rest) : m[0]]))
			n := v.Value[m[2]:m[3]]
			if n == "PATH" {
				b.WriteString("${PATH:-" + defaultPath + "}")
			} else {
				b.WriteString("${" + n + "}")
			}
			rest = v.Value[m[1]:]
		}
		b.WriteString(escape(rest))
		out = append(out, [2]string{v.Name, `"` + b.String() + `"`})
	}
	return out
}

// quote is a Dockerfile double-quoted word that stands for s as it is.
func quote(s string) string { return `"` + escape(s) + `"` }

// escape escapes what a Dockerfile double-quoted word would read otherwise.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`).Replace(s)
}

// shQuote quotes s for the sh of a RUN line.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
