package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// HostPath maps a path inside a sandbox described by spec to the host path
// holding it: inside a bind it is below the bind's source; elsewhere it is
// in the image's root filesystem (symlinks resolved inside it), or the same
// path without an image (the sandbox's root mirrors the host's). ok is false
// for paths hidden by a mask, /proc or /dev.
func HostPath(spec Spec, p string) (string, bool) {
	hp, _, ok := hostPath(spec, p)
	return hp, ok
}

// WritablePath is HostPath for a path inside a writable bind; ok is false
// elsewhere (the image and the host are read-only).
func WritablePath(spec Spec, p string) (string, bool) {
	hp, bind, ok := hostPath(spec, p)
	if !ok || bind == nil || bind.ReadOnly {
		return "", false
	}
	return hp, true
}

func hostPath(spec Spec, p string) (string, *Bind, bool) {
	p = path.Clean(p)
	best := -1
	for i, b := range spec.Binds {
		if under(p, b.Dest) && (best < 0 || len(b.Dest) > len(spec.Binds[best].Dest)) {
			best = i
		}
	}
	if best >= 0 {
		b := spec.Binds[best]
		return path.Join(b.Source, strings.TrimPrefix(p, b.Dest)), &b, true
	}
	if under(p, "/proc") || under(p, "/dev") {
		return "", nil, false
	}
	if spec.Root != "" {
		resolved, err := resolve(view(OSFS{}, spec.Root), p)
		if err != nil {
			return "", nil, false
		}
		if resolved != p {
			// A symlink may lead into a bind or /proc.
			return hostPath(spec, resolved)
		}
		return path.Join(spec.Root, resolved), nil, true
	}
	for _, m := range spec.Masks {
		if under(p, m) {
			return "", nil, false
		}
	}
	return p, nil, true
}

// LookPath finds argv0 as execvp would inside the sandbox: a name with a
// slash relative to the working directory, otherwise in the PATH of env. It
// returns an error worded like runc's ("exec: \"x\": executable file not
// found in $PATH") when there is nothing executable to run, so that a
// missing command fails the container at start like a real runtime does.
func LookPath(spec Spec, env []string, argv0 string) error {
	executable := func(p string) error {
		hp, ok := HostPath(spec, p)
		if !ok {
			return fs.ErrNotExist
		}
		fi, err := os.Stat(hp)
		if err != nil {
			return err
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return fs.ErrPermission
		}
		return nil
	}
	if argv0 == "" {
		return fmt.Errorf("exec: no command")
	}
	wd := spec.WorkingDir
	if wd == "" {
		wd = "/"
	}
	if strings.Contains(argv0, "/") {
		p := argv0
		if !path.IsAbs(p) {
			p = path.Join(wd, p)
		}
		switch err := executable(p); {
		case err == nil:
			return nil
		case errors.Is(err, fs.ErrPermission):
			return fmt.Errorf("exec: %q: permission denied", argv0)
		default:
			return fmt.Errorf("exec: %q: stat %s: no such file or directory", argv0, argv0)
		}
	}
	pathVar := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	for _, dir := range strings.Split(pathVar, ":") {
		if dir == "" {
			dir = "."
		}
		if !path.IsAbs(dir) {
			dir = path.Join(wd, dir)
		}
		if executable(path.Join(dir, argv0)) == nil {
			return nil
		}
	}
	return fmt.Errorf("exec: %q: executable file not found in $PATH", argv0)
}
