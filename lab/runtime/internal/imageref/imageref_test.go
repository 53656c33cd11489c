package imageref

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testCatalogue writes an index like build-images.sh does: debian:bookworm
// for amd64 and arm64, buildpack-deps:bookworm for amd64 only.
func testCatalogue(t *testing.T) (*Catalogue, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	digests := map[string]string{
		"debian/amd64": "sha256:" + strings.Repeat("a1", 32),
		"debian/arm64": "sha256:" + strings.Repeat("b2", 32),
		"bp/amd64":     "sha256:" + strings.Repeat("c3", 32),
	}
	type img struct {
		Name         string   `json:"name"`
		Aliases      []string `json:"aliases"`
		Architecture string   `json:"architecture"`
		Digest       string   `json:"digest"`
		Rootfs       string   `json:"rootfs"`
	}
	var images []img
	for key, d := range digests {
		name, arch, _ := strings.Cut(key, "/")
		rootfs := filepath.Join(dir, key)
		if err := os.MkdirAll(rootfs, 0o755); err != nil {
			t.Fatal(err)
		}
		i := img{Name: "debian:bookworm", Aliases: []string{"docker.io/library/debian:bookworm", "debian:12"}, Architecture: arch, Digest: d, Rootfs: rootfs}
		if name == "bp" {
			i.Name, i.Aliases = "buildpack-deps:bookworm", nil
		}
		images = append(images, i)
	}
	data, _ := json.Marshal(map[string]any{"images": images})
	index := filepath.Join(dir, "index.json")
	if err := os.WriteFile(index, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCatalogue(index)
	if err != nil {
		t.Fatal(err)
	}
	return c, digests
}

func TestResolve(t *testing.T) {
	cat, digests := testCatalogue(t)
	index := cat.Digest("debian:bookworm")
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(index) || index == digests["debian/amd64"] {
		t.Fatalf("index digest %q: want sha256 over both platforms", index)
	}
	if cat.Digest("docker.io/library/debian:12") != index {
		t.Errorf("an alias has another digest")
	}
	tests := []struct {
		name, input, arch string
		wantKind          Kind
		wantRequested     string
		wantName          string
		wantID            string
		wantRootfs        string // suffix
		wantMessage       *regexp.Regexp
	}{
		{name: "tag", input: "debian:bookworm", arch: "amd64", wantKind: Present, wantRequested: "debian:bookworm",
			wantName: "docker.io/library/debian:bookworm", wantID: "docker.io/library/debian@" + index, wantRootfs: "debian/amd64"},
		{name: "alias on arm64", input: "docker.io/library/debian:12", arch: "arm64", wantKind: Present, wantRequested: "docker.io/library/debian:12",
			wantName: "docker.io/library/debian:12", wantID: "docker.io/library/debian@" + index, wantRootfs: "debian/arm64"},
		{name: "index digest", input: "debian@" + index, arch: "arm64", wantKind: Present, wantRequested: "debian@" + index,
			wantName: "docker.io/library/debian@" + index, wantID: "docker.io/library/debian@" + index, wantRootfs: "debian/arm64"},
		{name: "platform digest", input: "debian@" + digests["debian/amd64"], arch: "amd64", wantKind: Present,
			wantRequested: "debian@" + digests["debian/amd64"], wantName: "docker.io/library/debian@" + digests["debian/amd64"],
			wantID: "docker.io/library/debian@" + digests["debian/amd64"], wantRootfs: "debian/amd64"},
		{name: "tag and digest: the digest wins", input: "debian:nosuchtag@" + index, arch: "amd64", wantKind: Present,
			wantRequested: "debian:nosuchtag@" + index, wantName: "docker.io/library/debian:nosuchtag@" + index,
			wantID: "docker.io/library/debian@" + index, wantRootfs: "debian/amd64"},
		{name: "wrong digest", input: "debian@sha256:" + strings.Repeat("0", 64), arch: "amd64", wantKind: PullError,
			wantRequested: "debian@sha256:" + strings.Repeat("0", 64), wantName: "docker.io/library/debian@sha256:" + strings.Repeat("0", 64),
			wantMessage: regexp.MustCompile(`^rpc error: code = NotFound desc = failed to pull and unpack image ".*": failed to resolve reference .*: not found$`)},
		{name: "other platform's digest", input: "debian@" + digests["debian/arm64"], arch: "amd64", wantKind: PullError,
			wantRequested: "debian@" + digests["debian/arm64"], wantName: "docker.io/library/debian@" + digests["debian/arm64"],
			wantMessage: regexp.MustCompile(`no match for platform in manifest: not found$`)},
		{name: "missing platform", input: "buildpack-deps:bookworm", arch: "arm64", wantKind: PullError, wantRequested: "buildpack-deps:bookworm",
			wantName: "docker.io/library/buildpack-deps:bookworm", wantMessage: regexp.MustCompile(`no match for platform in manifest: not found$`)},
		{name: "not in the catalogue", input: "no-such-registry.example/nothing:1", arch: "amd64", wantKind: PullError,
			wantRequested: "no-such-registry.example/nothing:1", wantName: "no-such-registry.example/nothing:1",
			wantMessage: regexp.MustCompile(`^rpc error: code = NotFound desc = failed to pull and unpack image "no-such-registry.example/nothing:1": failed to resolve reference "no-such-registry.example/nothing:1": no-such-registry.example/nothing:1: not found$`)},
		{name: "short name", input: "busybox", arch: "amd64", wantKind: PullError, wantRequested: "busybox:latest", wantName: "docker.io/library/busybox:latest",
			wantMessage: regexp.MustCompile(`not found$`)},
		{
			name: "uppercase repository", input: "Debian:12", arch: "amd64", wantKind: Invalid, wantRequested: "Debian:12", wantName: "Debian:12",
			wantMessage: regexp.MustCompile(`^Failed to apply default image tag "Debian:12": couldn't parse image name "Debian:12": invalid reference format: repository name \(library/Debian\) must be lowercase$`),
		},
		{
			name: "colon misuse", input: "debian::12", arch: "amd64", wantKind: Invalid, wantRequested: "debian::12", wantName: "debian::12",
			wantMessage: regexp.MustCompile(`invalid reference format$`),
		},
		{
			name: "pull error", input: "lab.invalid/pull-error", arch: "amd64", wantKind: PullError, wantRequested: "lab.invalid/pull-error:latest", wantName: "lab.invalid/pull-error:latest",
			wantMessage: regexp.MustCompile(`^rpc error: code = NotFound desc = failed to pull and unpack image "lab.invalid/pull-error:latest": .*not found$`),
		},
		{name: "pull error sub-repository", input: "lab.invalid/pull-error/x", arch: "amd64", wantKind: PullError, wantRequested: "lab.invalid/pull-error/x:latest", wantName: "lab.invalid/pull-error/x:latest", wantMessage: regexp.MustCompile(`not found$`)},
		{name: "slow pull", input: "lab.invalid/slow-pull:1", arch: "arm64", wantKind: SlowPull, wantRequested: "lab.invalid/slow-pull:1", wantName: "lab.invalid/slow-pull:1", wantRootfs: "debian/arm64"},
	}
	idPattern := regexp.MustCompile(`^[a-z0-9./-]+@sha256:[0-9a-f]{64}$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cat.Resolve(tc.input, tc.arch)
			if got.Kind != tc.wantKind || got.Requested != tc.wantRequested || got.Name != tc.wantName {
				t.Errorf("got kind %d requested %q name %q, want %d %q %q", got.Kind, got.Requested, got.Name, tc.wantKind, tc.wantRequested, tc.wantName)
			}
			if tc.wantMessage == nil && got.Message != "" {
				t.Errorf("unexpected message %q", got.Message)
			}
			if tc.wantMessage != nil && !tc.wantMessage.MatchString(got.Message) {
				t.Errorf("message %q does not match %v", got.Message, tc.wantMessage)
			}
			if tc.wantID != "" && got.ID != tc.wantID {
				t.Errorf("image ID %q, want %q", got.ID, tc.wantID)
			}
			if got.Kind != Invalid && !idPattern.MatchString(got.ID) {
				t.Errorf("image ID %q is not a repository digest", got.ID)
			}
			if !strings.HasSuffix(got.Rootfs, tc.wantRootfs) || (tc.wantRootfs == "") != (got.Rootfs == "") {
				t.Errorf("rootfs %q, want …%s", got.Rootfs, tc.wantRootfs)
			}
		})
	}
}

func TestLoadCatalogueErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"no rootfs":  `{"images":[{"name":"debian:bookworm","architecture":"amd64","digest":"sha256:` + strings.Repeat("0", 64) + `","rootfs":"/nonexistent/x"}]}`,
		"bad digest": `{"images":[{"name":"debian:bookworm","architecture":"amd64","digest":"md5:1","rootfs":"` + dir + `"}]}`,
		"no tag":     `{"images":[{"name":"debian@sha256:` + strings.Repeat("0", 64) + `","architecture":"amd64","digest":"sha256:` + strings.Repeat("0", 64) + `","rootfs":"` + dir + `"}]}`,
	} {
		p := filepath.Join(dir, "i.json")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCatalogue(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
