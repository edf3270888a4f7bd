package registry

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/ocilimits"
)

// Keys; see the package documentation.
const (
	blobPrefix     = "blobs/sha256/"
	projectsPrefix = "projects/"
)

// blobKey: blobs/<algorithm>/<hex>; sha256 blobs under blobPrefix.
func blobKey(d digest.Digest) string { return "blobs/" + string(d.Algorithm()) + "/" + d.Encoded() }

// kindBase is projects/<p>/<kind>s/: where the artifacts of the
// registry's kind live in a project.
func (r *Registry) kindBase(project string) string {
	return projectsPrefix + project + "/" + r.kind.segment() + "/"
}

func (r *Registry) artifactPrefix(project, name string) string {
	return r.kindBase(project) + name + "/"
}

func (r *Registry) versionsPrefix(project, name string) string {
	return r.artifactPrefix(project, name) + "versions/"
}
func (r *Registry) tagsPrefix(project, name string) string {
	return r.artifactPrefix(project, name) + "tags/"
}

func (r *Registry) versionKey(project, name string, d digest.Digest) string {
	return r.versionsPrefix(project, name) + d.Encoded()
}

func (r *Registry) tagKey(project, name, tag string) string { return r.tagsPrefix(project, name) + tag }
func (r *Registry) counterKey(project, name string) string {
	return r.artifactPrefix(project, name) + "counter"
}

// removalKey holds a whole-runtime removal under way (removal.go).
func (r *Registry) removalKey(project, name string) string {
	return r.artifactPrefix(project, name) + removalLeaf
}
func numberTag(n int) string            { return "v" + strconv.Itoa(n) }
func shortHex(d digest.Digest) string   { return short(d.Encoded()) }
func short(hex string) string           { return hex[:min(12, len(hex))] }
func sha256Of(hex string) digest.Digest { return digest.NewDigestFromEncoded(digest.SHA256, hex) }

const latestTag = "latest"

// checkNames makes sure project and name are single, safe key segments.
// (What a valid runtime name is, is the caller's business.)
func checkNames(project, name string) error {
	if err := checkSegment("project", project); err != nil {
		return err
	}
	return checkSegment("runtime name", name)
}

// CheckNames is checkNames for the instances built on a registry, which
// check a destination before they write to it.
func CheckNames(project, name string) error { return checkNames(project, name) }

func checkSegment(kind, v string) error {
	if v == "" {
		return &InvalidNameError{Kind: kind, Value: v, Reason: "empty"}
	}
	if strings.Contains(v, "/") {
		return &InvalidNameError{Kind: kind, Value: v, Reason: "contains /"}
	}
	if err := store.ValidateKey(v); err != nil {
		reason := err.Error()
		if ik, ok := err.(*store.InvalidKeyError); ok {
			reason = ik.Reason
		}
		return &InvalidNameError{Kind: kind, Value: v, Reason: reason}
	}
	return nil
}

// Tags follow the OCI distribution tag rule.
var (
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	numberRE = regexp.MustCompile(`^v[0-9]+$`)
	hexRE    = regexp.MustCompile(`^[0-9a-f]+$`)
)

func validTag(tag string) bool { return tagRE.MatchString(tag) }

// IsReservedTag reports whether tag is one the registry sets itself (latest
// and v<N>), which a user may not give. This is the one place of the rule.
func IsReservedTag(tag string) bool { return tag == latestTag || IsNumberTag(tag) }

// IsNumberTag reports whether tag is an automatic v<N> tag.
func IsNumberTag(tag string) bool { return numberRE.MatchString(tag) }

// CheckUserTags validates tags a user asks to set: the OCI tag rule, and
// not latest or v<N>. Commands call it before any work, so a bad tag costs
// nothing and leaves no trace.
func CheckUserTags(tags []string) error { return checkUserTags(tags) }

// checkUserTags validates tags a user asks to set or remove.
func checkUserTags(tags []string) error {
	for _, t := range tags {
		if !validTag(t) {
			return &InvalidNameError{Kind: "tag", Value: t, Reason: "use up to 128 of A-Z a-z 0-9 . _ -, not starting with . or -"}
		}
		if IsReservedTag(t) {
			return &ReservedTagError{Tag: t}
		}
	}
	return nil
}

// parseNumberTag returns N for "vN".
func parseNumberTag(tag string) (int, bool) {
	if !numberRE.MatchString(tag) {
		return 0, false
	}
	n, err := strconv.Atoi(tag[1:])
	return n, err == nil
}

// checkDigest is internal/ocilimits' digest rule, as an *InvalidNameError.
func checkDigest(d digest.Digest) error {
	if err := ocilimits.CheckDigest(d); err != nil {
		return &InvalidNameError{Kind: "digest", Value: string(d), Reason: err.Error()}
	}
	return nil
}

// CheckDigest validates a digest from outside (an OCI request): well formed,
// sha256 or sha512. The error is an *InvalidNameError.
func CheckDigest(d digest.Digest) error { return checkDigest(d) }
