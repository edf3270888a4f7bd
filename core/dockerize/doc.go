// Package dockerize owns turning a stored runtime version into a container
// image: the base image's name (from environment.docker.image, or from
// starwhale_version, Python, CUDA and cuDNN under an image repository), the
// Dockerfile and build context (Render, pure: the same inputs give the same
// bytes), writing that context (WriteContext), and building it with a
// container engine (Engine: docker buildx or podman, found by Detect).
//
// The image restores the runtime at build time through restore's fast path,
// with the swcli binary and the runtime's mode plugin copied into the image,
// so the build needs no network and no package index. It never passes
// engine flags of its own beyond tags, platform, push and the files it made:
// how an engine is set up (runtime, ulimits, registries) is the engine's
// configuration. It does not read stores or start plugins itself: the
// orchestrator (Dockerize) gets those from core/workflow and core/plugin.
package dockerize
