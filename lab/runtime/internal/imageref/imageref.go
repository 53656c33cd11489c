// Package imageref classifies a container's image for the lab runtime, which
// runs every container on the host and ignores its image, except for a few
// reserved names that simulate the failures a real node reports.
//
// The reference grammar is github.com/distribution/reference (what the
// kubelet uses in pkg/util/parsers.ParseImageName); the messages follow the
// kubelet's pkg/kubelet/images/image_manager.go and containerd's pull errors.
package imageref

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// Kind says what the runtime does with an image.
type Kind int

const (
	// Present: the image is "already present on machine"; the container runs.
	Present Kind = iota
	// Invalid: not a valid reference; the container waits with reason
	// InvalidImageName and never starts.
	Invalid
	// PullError: a reserved name under PullErrorRepository; the container
	// alternates between ErrImagePull and ImagePullBackOff and never starts.
	PullError
	// SlowPull: the reserved SlowPullRepository; the pull takes SlowPullDuration.
	SlowPull
)

// The reserved repositories (the .invalid top-level domain never resolves,
// RFC 2606).
const (
	PullErrorRepository = "lab.invalid/pull-error"
	SlowPullRepository  = "lab.invalid/slow-pull"
)

// Image is the classification of one container image.
type Image struct {
	Kind Kind
	// Spec is the image as written in the pod ("busybox").
	Spec string
	// Requested is the image with the default tag applied ("busybox:latest"),
	// as the kubelet names it in messages and events.
	Requested string
	// Name is the fully qualified reference a runtime reports in
	// containerStatuses[].image ("docker.io/library/busybox:latest").
	Name string
	// ID is a stable, well-formed imageID ("docker.io/library/busybox@sha256:<hex>")
	// derived from Name; no image is ever pulled.
	ID string
	// Message is the kubelet's waiting message for Invalid images and the
	// pull error for PullError images.
	Message string
}

// Classify parses image like the kubelet and returns its Kind, names and
// messages. It never fails: an unparsable image is Kind Invalid.
func Classify(image string) Image {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return Image{
			Kind:      Invalid,
			Spec:      image,
			Requested: image,
			Name:      image,
			Message:   fmt.Sprintf("Failed to apply default image tag %q: couldn't parse image name %q: %v", image, image, err),
		}
	}
	requested := image
	if reference.IsNameOnly(named) {
		requested = image + ":latest"
	}
	full := reference.TagNameOnly(named)
	sum := sha256.Sum256([]byte(full.String()))
	img := Image{
		Kind:      Present,
		Spec:      image,
		Requested: requested,
		Name:      full.String(),
		ID:        named.Name() + "@sha256:" + hex.EncodeToString(sum[:]),
	}
	switch repo := named.Name(); {
	case repo == PullErrorRepository || strings.HasPrefix(repo, PullErrorRepository+"/"):
		img.Kind = PullError
		img.Message = fmt.Sprintf("rpc error: code = NotFound desc = failed to pull and unpack image %q: "+
			"failed to resolve reference %q: %s: not found", full.String(), full.String(), full.String())
	case repo == SlowPullRepository:
		img.Kind = SlowPull
	}
	return img
}
