// Package imageref resolves a container's image for the lab runtime: a
// reference either names an image of the lab's catalogue (a root filesystem
// per architecture, built by lab/scripts/build-images.sh from
// lab/images/catalogue.json), or it fails the way a registry miss fails on a
// node. A few reserved names simulate other pull behaviour.
//
// The reference grammar is github.com/distribution/reference (what the
// kubelet uses in pkg/util/parsers.ParseImageName); the messages follow the
// kubelet's pkg/kubelet/images/image_manager.go and containerd's pull errors.
package imageref

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/distribution/reference"
)

// Kind says what the runtime does with an image.
type Kind int

const (
	// Present: the image is in the catalogue for the node's architecture;
	// the container runs in Image.Rootfs.
	Present Kind = iota
	// Invalid: not a valid reference; the container waits with reason
	// InvalidImageName and never starts.
	Invalid
	// PullError: the pull fails (a reference the catalogue does not hold,
	// a digest it does not know, an architecture it lacks, or a reserved
	// name under PullErrorRepository); the container alternates between
	// ErrImagePull and ImagePullBackOff and never starts.
	PullError
	// SlowPull: the reserved SlowPullRepository; the pull takes a while,
	// then the container runs in the SlowPullImage's root filesystem.
	SlowPull
)

// The reserved repositories (the .invalid top-level domain never resolves,
// RFC 2606).
const (
	PullErrorRepository = "lab.invalid/pull-error"
	SlowPullRepository  = "lab.invalid/slow-pull"
	// SlowPullImage is the catalogue image a slow-pull container runs in.
	SlowPullImage = "debian:bookworm"
)

// Image is the resolution of one container image on one node.
type Image struct {
	Kind Kind
	// Spec is the image as written in the pod ("debian:bookworm").
	Spec string
	// Requested is the image with the default tag applied ("busybox:latest"),
	// as the kubelet names it in messages and events.
	Requested string
	// Name is the fully qualified reference a runtime reports in
	// containerStatuses[].image ("docker.io/library/debian:bookworm").
	Name string
	// ID is the imageID a runtime reports: repository@sha256:<digest> of
	// the catalogue image (the digest of its index over all architectures,
	// or the architecture's own digest when the pod names that one).
	ID string
	// Rootfs is the host directory of the image's root filesystem for the
	// node's architecture (Present and SlowPull).
	Rootfs string
	// Size is the image's size in bytes as "Pulled" events report it (0
	// when unknown).
	Size int64
	// Message is the kubelet's waiting message for Invalid images and the
	// pull error for PullError images.
	Message string
}

// Platform is one architecture of a catalogue image.
type Platform struct {
	// Digest is "sha256:<hex>" of the root filesystem's content.
	Digest string
	// Rootfs is the root filesystem's host directory.
	Rootfs string
	// Size is the root filesystem's size in bytes (0 when unknown).
	Size int64
}

// entry is one catalogue image under one of its names.
type entry struct {
	repo, tag string
	// index is "sha256:<hex>" over every platform's digest, the stand-in
	// for a multi-architecture image index's digest.
	index     string
	platforms map[string]Platform
}

// Catalogue is the set of images the lab's nodes hold. The zero value and
// nil hold none.
type Catalogue struct {
	// byRef maps "repository:tag" (normalised) to its entry; every alias
	// points to the same entry.
	byRef map[string]*entry
}

// indexFile is the format of the index written by build-images.sh.
type indexFile struct {
	Images []struct {
		Name         string   `json:"name"`
		Aliases      []string `json:"aliases"`
		Architecture string   `json:"architecture"`
		Digest       string   `json:"digest"`
		Rootfs       string   `json:"rootfs"`
		Size         int64    `json:"size"`
	} `json:"images"`
}

// LoadCatalogue reads the index file written by lab/scripts/build-images.sh
// ({"images": [{"name", "aliases", "architecture", "digest", "rootfs"}]}).
// An image whose rootfs directory is missing is an error.
func LoadCatalogue(path string) (*Catalogue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f indexFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &Catalogue{byRef: map[string]*entry{}}
	byName := map[string]*entry{}
	for _, img := range f.Images {
		if fi, err := os.Stat(img.Rootfs); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s: image %s (%s): no root filesystem at %s", path, img.Name, img.Architecture, img.Rootfs)
		}
		if !strings.HasPrefix(img.Digest, "sha256:") || len(img.Digest) != len("sha256:")+64 {
			return nil, fmt.Errorf("%s: image %s (%s): digest %q is not sha256:<64 hex>", path, img.Name, img.Architecture, img.Digest)
		}
		e := byName[img.Name]
		if e == nil {
			repo, tag, err := normalise(img.Name)
			if err != nil {
				return nil, fmt.Errorf("%s: image name %q: %w", path, img.Name, err)
			}
			e = &entry{repo: repo, tag: tag, platforms: map[string]Platform{}}
			byName[img.Name] = e
			for _, n := range append([]string{img.Name}, img.Aliases...) {
				r, t, err := normalise(n)
				if err != nil {
					return nil, fmt.Errorf("%s: alias %q of %s: %w", path, n, img.Name, err)
				}
				c.byRef[r+":"+t] = e
			}
		}
		e.platforms[img.Architecture] = Platform{Digest: img.Digest, Rootfs: img.Rootfs, Size: img.Size}
	}
	for _, e := range byName {
		e.index = indexDigest(e.platforms)
	}
	return c, nil
}

// indexDigest is sha256 over "<arch> <digest>\n" lines sorted by
// architecture: stable as long as every platform's content is.
func indexDigest(platforms map[string]Platform) string {
	archs := make([]string, 0, len(platforms))
	for a := range platforms {
		archs = append(archs, a)
	}
	slices.Sort(archs)
	h := sha256.New()
	for _, a := range archs {
		fmt.Fprintf(h, "%s %s\n", a, platforms[a].Digest)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// normalise returns the fully qualified repository and the tag (default
// "latest") of a tagged reference.
func normalise(name string) (repo, tag string, err error) {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return "", "", err
	}
	tagged, ok := reference.TagNameOnly(named).(reference.Tagged)
	if !ok {
		return "", "", fmt.Errorf("a catalogue name needs a tag")
	}
	return named.Name(), tagged.Tag(), nil
}

// Digest returns the index digest of the catalogue image named ref
// ("debian:bookworm"), or "" when the catalogue has no such image.
func (c *Catalogue) Digest(ref string) string {
	if e := c.lookup(ref); e != nil {
		return e.index
	}
	return ""
}

func (c *Catalogue) lookup(ref string) *entry {
	if c == nil {
		return nil
	}
	repo, tag, err := normalise(ref)
	if err != nil {
		return nil
	}
	return c.byRef[repo+":"+tag]
}

// Resolve parses image like the kubelet and resolves it in the catalogue
// for a node of architecture arch ("amd64", "arm64"). It never fails: an
// unparsable image is Kind Invalid, an unknown one Kind PullError.
func (c *Catalogue) Resolve(image, arch string) Image {
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
	img := Image{Spec: image, Requested: requested, Name: full.String()}
	repo := named.Name()
	switch {
	case repo == PullErrorRepository || strings.HasPrefix(repo, PullErrorRepository+"/"):
		img.Kind, img.ID = PullError, placeholderID(full.String())
		img.Message = notFound(full.String())
		return img
	case repo == SlowPullRepository:
		img.ID = placeholderID(full.String())
		base := c.Resolve(SlowPullImage, arch)
		if base.Kind != Present {
			return base
		}
		img.Kind, img.Rootfs = SlowPull, base.Rootfs
		return img
	}

	var e *entry
	digest := ""
	if d, ok := named.(reference.Digested); ok {
		// A digest wins over a tag, as in containerd: the tag is ignored.
		digest = d.Digest().String()
		if c != nil {
			for _, cand := range c.byRef {
				if cand.repo != repo {
					continue
				}
				if cand.index == digest {
					e = cand
					break
				}
				for _, p := range cand.platforms {
					if p.Digest == digest {
						e = cand
					}
				}
			}
		}
	} else if t, ok := full.(reference.Tagged); ok && c != nil {
		e = c.byRef[repo+":"+t.Tag()]
	}
	if e == nil {
		img.Kind, img.ID = PullError, placeholderID(full.String())
		img.Message = notFound(full.String())
		return img
	}
	p, ok := e.platforms[arch]
	if !ok || (digest != "" && digest != e.index && digest != p.Digest) {
		// The index has no manifest for this platform (or the pod names
		// another platform's manifest).
		img.Kind, img.ID = PullError, placeholderID(full.String())
		img.Message = fmt.Sprintf("rpc error: code = NotFound desc = failed to pull and unpack image %q: "+
			"no match for platform in manifest: not found", full.String())
		return img
	}
	img.Kind, img.Rootfs, img.Size = Present, p.Rootfs, p.Size
	img.ID = repo + "@" + e.index
	if digest == p.Digest {
		img.ID = repo + "@" + p.Digest
	}
	return img
}

// notFound is containerd's error for a reference no registry serves.
func notFound(ref string) string {
	return fmt.Sprintf("rpc error: code = NotFound desc = failed to pull and unpack image %q: "+
		"failed to resolve reference %q: %s: not found", ref, ref, ref)
}

// placeholderID is a well-formed imageID for an image that never ran.
func placeholderID(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(ref))
	return named.Name() + "@sha256:" + hex.EncodeToString(sum[:])
}
