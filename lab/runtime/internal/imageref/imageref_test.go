package imageref

import (
	"regexp"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name          string
		input         string
		wantKind      Kind
		wantRequested string
		wantName      string
		wantMessage   *regexp.Regexp
	}{
		{name: "short name", input: "busybox", wantKind: Present, wantRequested: "busybox:latest", wantName: "docker.io/library/busybox:latest"},
		{name: "tagged", input: "gcr.io/p/builder:1.2", wantKind: Present, wantRequested: "gcr.io/p/builder:1.2", wantName: "gcr.io/p/builder:1.2"},
		{name: "digest", input: "debian@" + digest, wantKind: Present, wantRequested: "debian@" + digest, wantName: "docker.io/library/debian@" + digest},
		{
			name: "uppercase repository", input: "Debian:12", wantKind: Invalid, wantRequested: "Debian:12", wantName: "Debian:12",
			wantMessage: regexp.MustCompile(`^Failed to apply default image tag "Debian:12": couldn't parse image name "Debian:12": invalid reference format: repository name \(library/Debian\) must be lowercase$`),
		},
		{
			name: "colon misuse", input: "debian::12", wantKind: Invalid, wantRequested: "debian::12", wantName: "debian::12",
			wantMessage: regexp.MustCompile(`invalid reference format$`),
		},
		{
			name: "pull error", input: "lab.invalid/pull-error", wantKind: PullError, wantRequested: "lab.invalid/pull-error:latest", wantName: "lab.invalid/pull-error:latest",
			wantMessage: regexp.MustCompile(`^rpc error: code = NotFound desc = failed to pull and unpack image "lab.invalid/pull-error:latest": .*not found$`),
		},
		{name: "pull error with tag", input: "lab.invalid/pull-error:v2", wantKind: PullError, wantRequested: "lab.invalid/pull-error:v2", wantName: "lab.invalid/pull-error:v2", wantMessage: regexp.MustCompile(`not found$`)},
		{name: "pull error sub-repository", input: "lab.invalid/pull-error/x", wantKind: PullError, wantRequested: "lab.invalid/pull-error/x:latest", wantName: "lab.invalid/pull-error/x:latest", wantMessage: regexp.MustCompile(`not found$`)},
		{name: "not the pull-error prefix", input: "lab.invalid/pull-errors", wantKind: Present, wantRequested: "lab.invalid/pull-errors:latest", wantName: "lab.invalid/pull-errors:latest"},
		{name: "slow pull", input: "lab.invalid/slow-pull:1", wantKind: SlowPull, wantRequested: "lab.invalid/slow-pull:1", wantName: "lab.invalid/slow-pull:1"},
	}
	idPattern := regexp.MustCompile(`^[a-z0-9./-]+@sha256:[0-9a-f]{64}$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.input)
			if got.Kind != tc.wantKind || got.Requested != tc.wantRequested || got.Name != tc.wantName {
				t.Errorf("got kind %d requested %q name %q, want %d %q %q", got.Kind, got.Requested, got.Name, tc.wantKind, tc.wantRequested, tc.wantName)
			}
			if tc.wantMessage == nil && got.Message != "" {
				t.Errorf("unexpected message %q", got.Message)
			}
			if tc.wantMessage != nil && !tc.wantMessage.MatchString(got.Message) {
				t.Errorf("message %q does not match %v", got.Message, tc.wantMessage)
			}
			if got.Kind != Invalid && !idPattern.MatchString(got.ID) {
				t.Errorf("image ID %q is not a repository digest", got.ID)
			}
		})
	}
}
