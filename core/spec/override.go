package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Overrides are the facts of a runtime.yaml a build's flags replace
// (Starwhale's `runtime build -n --cuda --cudnn --arch`). Empty fields keep
// what the file says.
type Overrides struct {
	Name  string
	CUDA  string
	CUDNN string
	Arch  []string
}

var (
	cudaRe  = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,2}$`)
	cudnnRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,2}$`)
)

// NormalizeArch gives the Go name of an architecture (x86_64 is amd64,
// aarch64 is arm64) and whether it is one of Arches.
func NormalizeArch(a string) (string, bool) {
	switch a {
	case "x86_64":
		a = "amd64"
	case "aarch64":
		a = "arm64"
	}
	return a, slices.Contains(Arches, a)
}

// Apply checks o and writes it into s. Errors name the flag.
func (o Overrides) Apply(s *Spec) error {
	if o.Name != "" {
		if err := ValidateName(o.Name); err != nil {
			return fmt.Errorf("--name: %w", err)
		}
		s.Name = o.Name
	}
	if o.CUDA != "" {
		if !cudaRe.MatchString(o.CUDA) {
			return fmt.Errorf("--cuda %q is not a CUDA version; allowed: X.Y such as 11.8", o.CUDA)
		}
		s.Environment.CUDA = o.CUDA
	}
	if o.CUDNN != "" {
		if !cudnnRe.MatchString(o.CUDNN) {
			return fmt.Errorf("--cudnn %q is not a cuDNN version; allowed: N or N.M such as 8", o.CUDNN)
		}
		s.Environment.CUDNN = o.CUDNN
	}
	if len(o.Arch) > 0 {
		var arches []string
		for _, a := range o.Arch {
			n, ok := NormalizeArch(a)
			if !ok {
				return fmt.Errorf("--arch %q is not an architecture; allowed: %s (or x86_64, aarch64)", a, strings.Join(Arches, ", "))
			}
			if !slices.Contains(arches, n) {
				arches = append(arches, n)
			}
		}
		s.Environment.Arch = arches
	}
	return nil
}
