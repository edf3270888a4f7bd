package dockerize

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/swcli/swcli/core/instance"
)

// DefaultImageRepo is where base images are looked for when neither
// SW_IMAGE_REPO nor Options.ImageRepo names a repository.
const DefaultImageRepo = "docker.io/starwhaleai"

// BaseImageRepoEnv names the image repository of the derived base images.
const BaseImageRepoEnv = "SW_IMAGE_REPO"

// ImageRepoFrom is the repository of derived base images the user chose:
// SW_IMAGE_REPO, else the CLI config's image_repo, else "" (the default,
// DefaultImageRepo). A config that cannot be read is the caller's to report;
// here it only means no choice was made there.
func ImageRepoFrom(cfg *instance.Config) string {
	if v := os.Getenv(BaseImageRepoEnv); v != "" {
		return v
	}
	if cfg != nil {
		return cfg.ImageRepo
	}
	return ""
}

// CUDAPair is a CUDA X.Y with the cuDNN majors that base images exist for.
type CUDAPair struct {
	CUDA  string
	CUDNN []string
}

// CUDAPairs lists the CUDA versions (and their cuDNN majors) that derived
// base images exist for. The README's table is this list.
var CUDAPairs = []CUDAPair{
	{"11.7", []string{"8"}},
	{"11.8", []string{"8"}},
	{"12.1", []string{"8"}},
	{"12.2", []string{"8"}},
	{"12.4", []string{"8", "9"}},
	{"12.6", []string{"9"}},
	{"12.8", []string{"9"}},
}

// CUDAError says a CUDA/cuDNN pair has no base image.
type CUDAError struct {
	CUDA, CUDNN string
}

func (e *CUDAError) Error() string {
	var pairs []string
	for _, p := range CUDAPairs {
		pairs = append(pairs, p.CUDA+" (cudnn "+strings.Join(p.CUDNN, ", ")+")")
	}
	what := "cuda " + e.CUDA
	if e.CUDNN != "" {
		what += " with cudnn " + e.CUDNN
	}
	if e.CUDA == "" {
		what = "cudnn " + e.CUDNN + " without cuda"
	}
	return fmt.Sprintf("environment: %s has no base image; supported: %s; or name an image with environment.docker.image or --base-image",
		what, strings.Join(pairs, ", "))
}

// checkCUDA checks a runtime's CUDA/cuDNN against CUDAPairs. cuDNN may be
// written as its major ("8") or major.minor ("8.9"): the major counts.
func checkCUDA(cuda, cudnn string) (string, error) {
	major, _, _ := strings.Cut(cudnn, ".")
	if cuda == "" {
		if cudnn != "" {
			return "", &CUDAError{CUDNN: cudnn}
		}
		return "", nil
	}
	for _, p := range CUDAPairs {
		if p.CUDA != cuda {
			continue
		}
		if cudnn == "" {
			return "", nil
		}
		for _, n := range p.CUDNN {
			if n == major {
				return major, nil
			}
		}
	}
	return "", &CUDAError{CUDA: cuda, CUDNN: cudnn}
}

// ImageNameError says an image name or tag is malformed.
type ImageNameError struct {
	// What is where the name came from ("-t", "--base-image",
	// "environment.docker.image", "the derived base image").
	What, Value string
	Err         error
}

func (e *ImageNameError) Error() string {
	return fmt.Sprintf("%s %q is not a valid image name: %v; allowed: [REGISTRY[:PORT]/]REPOSITORY[:TAG] with a lowercase repository", e.What, e.Value, e.Err)
}

func (e *ImageNameError) Unwrap() error { return e.Err }

// checkTag checks an image name the build tags (a tag, never a digest).
func checkTag(what, s string) error {
	if _, err := name.NewTag(s); err != nil {
		return &ImageNameError{What: what, Value: s, Err: err}
	}
	return nil
}

// checkRef checks an image name a FROM line names (a tag or a digest).
func checkRef(what, s string) error {
	if _, err := name.ParseReference(s); err != nil {
		return &ImageNameError{What: what, Value: s, Err: err}
	}
	return nil
}

// tagUnsafe is what an OCI tag may not hold ([A-Za-z0-9_.-] only).
var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// BaseImageName is the base image derived from a runtime:
//
//	REPO/starwhale:<starwhale_version>-py<X.Y>[-cuda<X.Y>[-cudnn<N>]]
//
// starwhale_version falls back to the swcli version that built the runtime;
// characters a tag may not hold (such as "+") become "-".
func BaseImageName(repo, starwhaleVersion, python, cuda, cudnn string) (string, error) {
	major, err := checkCUDA(cuda, cudnn)
	if err != nil {
		return "", err
	}
	tag := tagUnsafe.ReplaceAllString(starwhaleVersion, "-") + "-py" + python
	if cuda != "" {
		tag += "-cuda" + cuda
		if major != "" {
			tag += "-cudnn" + major
		}
	}
	img := strings.TrimSuffix(repo, "/") + "/starwhale:" + tag
	if err := checkRef("the derived base image", img); err != nil {
		return "", err
	}
	return img, nil
}

// PlatformError says a runtime's environment cannot run on the platform an
// image is built for.
type PlatformError struct {
	Name, Platform, Built, Swcli string
}

func (e *PlatformError) Error() string {
	switch {
	case e.Built != "":
		return fmt.Sprintf("--platform %s does not fit runtime %s, built for %s: its environment layers run only there; use --platform %s, or build the runtime on a %s machine",
			e.Platform, e.Name, e.Built, e.Built, e.Platform)
	case e.Swcli != "":
		return fmt.Sprintf("--platform %s: this swcli is built for %s and is copied into the image to restore the runtime; dockerize on a %s machine", e.Platform, e.Swcli, e.Platform)
	}
	return fmt.Sprintf("--platform %q is not a platform; allowed: OS/ARCH such as linux/amd64 or linux/arm64", e.Platform)
}

// checkPlatform checks platform (OS/ARCH[/VARIANT]) against what the
// runtime was built for and what the copied swcli binary runs on.
func checkPlatform(platform, rtName, built, swcli string) error {
	parts := strings.Split(platform, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return &PlatformError{Platform: platform}
	}
	osArch := parts[0] + "/" + parts[1]
	if osArch != built {
		return &PlatformError{Name: rtName, Platform: platform, Built: built}
	}
	if osArch != swcli {
		return &PlatformError{Platform: platform, Swcli: swcli}
	}
	return nil
}
