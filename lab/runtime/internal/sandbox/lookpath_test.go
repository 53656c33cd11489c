package sandbox

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	if err := os.MkdirAll(filepath.Join(ws, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "bin", "build.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "data"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := Spec{WorkingDir: "/workspace", Binds: []Bind{{Source: ws, Dest: "/workspace"}}, Masks: []string{dir}}
	tests := []struct {
		name    string
		env     []string
		argv0   string
		wantErr *regexp.Regexp
	}{
		{name: "host command in default PATH", argv0: "sh"},
		{name: "absolute host path", argv0: "/bin/sh"},
		{name: "path in a bind", argv0: "/workspace/bin/build.sh"},
		{name: "relative to working dir", argv0: "./bin/build.sh"},
		{name: "PATH from env pointing into a bind", env: []string{"PATH=/workspace/bin"}, argv0: "build.sh"},
		{name: "missing command", argv0: "no-such-command-kb", wantErr: regexp.MustCompile(`^exec: "no-such-command-kb": executable file not found in \$PATH$`)},
		{name: "missing path", argv0: "/workspace/nope", wantErr: regexp.MustCompile(`^exec: "/workspace/nope": stat /workspace/nope: no such file or directory$`)},
		{name: "not executable", argv0: "/workspace/data", wantErr: regexp.MustCompile(`^exec: "/workspace/data": permission denied$`)},
		{name: "masked host path", argv0: filepath.Join(ws, "bin", "build.sh"), wantErr: regexp.MustCompile(`no such file`)},
		{name: "empty", argv0: "", wantErr: regexp.MustCompile(`no command`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := LookPath(spec, tc.env, tc.argv0)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !tc.wantErr.MatchString(err.Error()) {
				t.Fatalf("error %v, want one matching %v", err, tc.wantErr)
			}
		})
	}
}

func TestLookPathInImage(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "etc/alternatives"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin/mawk"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Absolute symlinks resolve inside the image, not on the host.
	for link, target := range map[string]string{"bin": "usr/bin", "usr/bin/awk": "/etc/alternatives/awk",
		"etc/alternatives/awk": "/usr/bin/mawk", "usr/bin/sh-host": "/bin/sh-missing-kb"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	spec := Spec{Root: root, WorkingDir: "/"}
	for argv0, ok := range map[string]bool{"awk": true, "/bin/awk": true, "mawk": true, "sh": false, "sh-host": false, "/usr/bin/sh": false} {
		if err := LookPath(spec, nil, argv0); (err == nil) != ok {
			t.Errorf("LookPath(%q) = %v, want found %v", argv0, err, ok)
		}
	}
	if hp, ok := WritablePath(spec, "/usr/bin"); ok {
		t.Errorf("the image is writable at %s", hp)
	}
}
