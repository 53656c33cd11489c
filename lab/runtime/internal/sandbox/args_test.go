package sandbox

import (
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeFS is a host filesystem described by path: "d" directory, "f" file,
// anything else a symlink to that target.
type fakeFS map[string]string

type fakeInfo struct {
	name string
	kind string
}

func (i fakeInfo) Name() string { return i.name }
func (i fakeInfo) Size() int64  { return 0 }
func (i fakeInfo) Mode() fs.FileMode {
	switch i.kind {
	case "d":
		return fs.ModeDir | 0o755
	case "f":
		return 0o644
	}
	return fs.ModeSymlink | 0o777
}
func (i fakeInfo) ModTime() time.Time         { return time.Time{} }
func (i fakeInfo) IsDir() bool                { return i.kind == "d" }
func (i fakeInfo) Sys() any                   { return nil }
func (i fakeInfo) Type() fs.FileMode          { return i.Mode().Type() }
func (i fakeInfo) Info() (fs.FileInfo, error) { return i, nil }

func (f fakeFS) Lstat(name string) (fs.FileInfo, error) {
	if name == "/" {
		return fakeInfo{"/", "d"}, nil
	}
	k, ok := f[name]
	if !ok {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return fakeInfo{path.Base(name), k}, nil
}

func (f fakeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	for p, k := range f {
		if path.Dir(p) == name {
			out = append(out, fakeInfo{path.Base(p), k})
		}
	}
	return out, nil
}

func (f fakeFS) Readlink(name string) (string, error) {
	return f[name], nil
}

var host = fakeFS{
	"/usr": "d", "/usr/bin": "d", "/bin": "usr/bin", "/etc": "d", "/proc": "d", "/dev": "d", "/tmp": "d",
	"/opt": "d", "/opt/tool": "d", "/opt/lib": "d", "/opt/lib/a": "f",
	"/var": "d", "/var/run": "/run", "/run": "d", "/run/lock": "d",
	"/srv": "d", "/srv/lab": "d", "/srv/lab/state": "d", "/srv/lab/pki": "d",
	// An image's root filesystem (not listed in /: the fake lists only
	// entries whose parent is in the map or is /).
	"/img/usr": "d", "/img/bin": "usr/bin", "/img/etc": "d", "/img/etc/hosts": "f", "/img/var": "d",
	"/img/var/run": "/run", "/img/run": "d", "/img/tmp": "d",
}

func TestBwrapArgs(t *testing.T) {
	base := []string{
		"--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
		"--die-with-parent", "--new-session",
	}
	tests := []struct {
		name    string
		spec    Spec
		want    []string
		wantErr *regexp.Regexp
	}{
		{
			name: "workspace and tmp at the top level",
			spec: Spec{UID: 65532, GID: 65532, Hostname: "pod-a", WorkingDir: "/workspace", Binds: []Bind{
				{Source: "/state/ws", Dest: "/workspace"}, {Source: "/state/tmp", Dest: "/tmp"},
			}},
			want: slices.Concat(base,
				[]string{"--uid", "65532", "--gid", "65532", "--hostname", "pod-a"},
				[]string{"--symlink", "usr/bin", "/bin", "--ro-bind", "/etc", "/etc", "--ro-bind", "/opt", "/opt",
					"--ro-bind", "/run", "/run", "--ro-bind", "/srv", "/srv", "--ro-bind", "/usr", "/usr", "--ro-bind", "/var", "/var"},
				[]string{"--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm", "--proc", "/proc"},
				[]string{"--bind", "/state/ws", "/workspace", "--bind", "/state/tmp", "/tmp"},
				[]string{"--remount-ro", "/", "--chdir", "/workspace"}),
		},
		{
			name: "missing mount point below a host directory expands it",
			spec: Spec{UID: 1000, GID: 1000, Binds: []Bind{
				{Source: "/state/cache", Dest: "/opt/lib/cache"}, {Source: "/state/ws", Dest: "/opt/lib/cache/sub"},
				{Source: "/state/existing", Dest: "/opt/tool"},
			}},
			want: slices.Concat(base,
				[]string{"--uid", "1000", "--gid", "1000"},
				[]string{"--symlink", "usr/bin", "/bin", "--ro-bind", "/etc", "/etc",
					"--dir", "/opt", "--dir", "/opt/lib", "--ro-bind", "/opt/lib/a", "/opt/lib/a",
					"--ro-bind", "/run", "/run", "--ro-bind", "/srv", "/srv", "--ro-bind", "/tmp", "/tmp",
					"--ro-bind", "/usr", "/usr", "--ro-bind", "/var", "/var"},
				[]string{"--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm", "--proc", "/proc"},
				[]string{"--bind", "/state/existing", "/opt/tool", "--bind", "/state/cache", "/opt/lib/cache",
					"--bind", "/state/ws", "/opt/lib/cache/sub"},
				[]string{"--remount-ro", "/", "--chdir", "/"}),
		},
		{
			name: "mount point below a symlinked directory, masks, read-only bind, root capabilities",
			spec: Spec{UID: 0, GID: 0, Capabilities: []string{"CAP_CHOWN"},
				Masks: []string{"/srv/lab", "/srv/lab/pki", "/nonexistent"},
				Binds: []Bind{{Source: "/state/x", Dest: "/var/run/x", ReadOnly: true}}},
			want: slices.Concat(base,
				[]string{"--uid", "0", "--gid", "0"},
				[]string{"--symlink", "usr/bin", "/bin", "--ro-bind", "/etc", "/etc", "--ro-bind", "/opt", "/opt",
					"--dir", "/run", "--ro-bind", "/run/lock", "/run/lock",
					"--ro-bind", "/srv", "/srv", "--ro-bind", "/tmp", "/tmp", "--ro-bind", "/usr", "/usr", "--ro-bind", "/var", "/var"},
				[]string{"--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm", "--proc", "/proc"},
				[]string{"--perms", "0555", "--tmpfs", "/srv/lab", "--remount-ro", "/srv/lab"},
				[]string{"--ro-bind", "/state/x", "/run/x"},
				[]string{"--remount-ro", "/", "--chdir", "/", "--cap-drop", "ALL", "--cap-add", "CAP_CHOWN"}),
		},
		{
			name: "privileged root keeps its capabilities",
			spec: Spec{Privileged: true, Binds: []Bind{{Source: "/s", Dest: "/dev/termination-log"}}},
			want: slices.Concat(base,
				[]string{"--uid", "0", "--gid", "0"},
				[]string{"--symlink", "usr/bin", "/bin", "--ro-bind", "/etc", "/etc", "--ro-bind", "/opt", "/opt",
					"--ro-bind", "/run", "/run", "--ro-bind", "/srv", "/srv", "--ro-bind", "/tmp", "/tmp",
					"--ro-bind", "/usr", "/usr", "--ro-bind", "/var", "/var"},
				[]string{"--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm", "--proc", "/proc"},
				[]string{"--bind", "/s", "/dev/termination-log"},
				[]string{"--remount-ro", "/", "--chdir", "/"}),
		},
		{
			name: "image root, mapped IDs, missing working directory, symlinks inside the image",
			spec: Spec{Root: "/img", MapIDs: true, UID: 65532, GID: 65532, WorkingDir: "/src/app", Masks: []string{"/srv/lab"},
				Binds: []Bind{{Source: "/state/ws", Dest: "/workspace"}, {Source: "/state/tmp", Dest: "/tmp"},
					{Source: "/state/hosts", Dest: "/etc/hosts", ReadOnly: true}, {Source: "/state/s", Dest: "/var/run/secrets/x", ReadOnly: true}}},
			want: slices.Concat(base,
				[]string{"--userns-block-fd", "5"},
				[]string{"--symlink", "usr/bin", "/bin", "--ro-bind", "/img/etc", "/etc", "--dir", "/run",
					"--ro-bind", "/img/usr", "/usr", "--ro-bind", "/img/var", "/var"},
				[]string{"--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm", "--proc", "/proc"},
				[]string{"--bind", "/state/ws", "/workspace", "--bind", "/state/tmp", "/tmp", "--ro-bind", "/state/hosts", "/etc/hosts",
					"--ro-bind", "/state/s", "/run/secrets/x"},
				[]string{"--dir", "/src/app", "--remount-ro", "/", "--chdir", "/src/app"}),
		},
		{name: "relative mount path", spec: Spec{Binds: []Bind{{Source: "/s", Dest: "data"}}}, wantErr: regexp.MustCompile(`must be an absolute, clean path`)},
		{name: "mount under /proc", spec: Spec{Binds: []Bind{{Source: "/s", Dest: "/proc/x"}}}, wantErr: regexp.MustCompile(`is under /proc`)},
		{name: "mount below a file", spec: Spec{Binds: []Bind{{Source: "/s", Dest: "/opt/lib/a/b"}}}, wantErr: regexp.MustCompile(`/opt/lib/a is not a directory`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BwrapArgs(tc.spec, host)
			if tc.wantErr != nil {
				if err == nil || !tc.wantErr.MatchString(err.Error()) {
					t.Fatalf("error %v, want one matching %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, " "), strings.Join(tc.want, " "))
			}
		})
	}
}

func TestNsenterArgs(t *testing.T) {
	got := NsenterArgs(42, 65532, 65533, nil, false, "", []string{"tar", "-xf", "-"})
	want := []string{"--target", "42", "--user", "--mount", "--pid", "--net", "--ipc", "--uts",
		"--setuid", "65532", "--setgid", "65533", "--wdns=/", "--", "tar", "-xf", "-"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	got = NsenterArgs(42, 65532, 65533, []int64{65532, 7}, true, "/workspace", []string{"tar", "-xf", "-"})
	want = []string{"--target", "42", "--user", "--mount", "--pid", "--net", "--ipc", "--uts", "--wdns=/workspace", "--",
		"/proc/self/fd/3", InitArg, "65532", "65533", "65532,7", "--", "tar", "-xf", "-"}
	if !slices.Equal(got, want) {
		t.Errorf("with the helper: got %v, want %v", got, want)
	}
}
