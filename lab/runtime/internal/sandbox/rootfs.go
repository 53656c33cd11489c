package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// HostFS is the read-only view of the host filesystem that argument building
// needs; paths are absolute. OSFS is the real one.
type HostFS interface {
	Lstat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	Readlink(name string) (string, error)
}

// OSFS is the host's filesystem.
type OSFS struct{}

// Lstat is os.Lstat.
func (OSFS) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(name) }

// ReadDir is os.ReadDir.
func (OSFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// Readlink is os.Readlink.
func (OSFS) Readlink(name string) (string, error) { return os.Readlink(name) }

// rootedFS is the view of an image's root filesystem at dir on the host:
// every path is relative to dir (an absolute symlink target too, see
// resolve).
type rootedFS struct {
	host HostFS
	dir  string
}

func (r rootedFS) Lstat(name string) (fs.FileInfo, error) {
	return r.host.Lstat(path.Join(r.dir, name))
}
func (r rootedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	return r.host.ReadDir(path.Join(r.dir, name))
}
func (r rootedFS) Readlink(name string) (string, error) {
	return r.host.Readlink(path.Join(r.dir, name))
}

// view returns the filesystem a sandbox with root directory root sees
// (root "" is the host's own).
func view(host HostFS, root string) HostFS {
	if root == "" || root == "/" {
		return host
	}
	return rootedFS{host: host, dir: path.Clean(root)}
}

// resolve returns p with every symlink in its existing leading components
// replaced by its target, so that a mount point below a symlinked directory
// (/var/run -> /run) is created where bwrap will look for it.
func resolve(host HostFS, p string) (string, error) {
	for range 40 {
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		changed := false
		for i := range parts {
			prefix := "/" + path.Join(parts[:i+1]...)
			fi, err := host.Lstat(prefix)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return p, nil
				}
				return "", err
			}
			if fi.Mode()&fs.ModeSymlink == 0 {
				continue
			}
			target, err := host.Readlink(prefix)
			if err != nil {
				return "", err
			}
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(prefix), target)
			}
			p = path.Join(append([]string{target}, parts[i+1:]...)...)
			changed = true
			break
		}
		if !changed {
			return p, nil
		}
	}
	return "", fmt.Errorf("too many levels of symbolic links in %s", p)
}

// rootArgs returns the bwrap options that rebuild the host's root
// filesystem, read-only, on bwrap's own tmpfs root, so that every path in
// mountPoints can be mounted on even when it does not exist on the host.
//
// `--ro-bind / /` would be simpler, but bwrap cannot create a missing mount
// point (such as /workspace) inside a read-only bind. So each top-level entry
// is bound on its own; a directory that is an existing ancestor of a missing
// mount point is instead created on the tmpfs (--dir) and its entries bound
// one by one, recursively. Paths in skip (/proc, /dev, the mount points
// themselves) are left out. Symlinks are recreated with --symlink.
//
// With an image (root not ""), host is the image's view (see view) and the
// binds' sources are below root.
func rootArgs(host HostFS, root string, mountPoints []string, skip map[string]bool) ([]string, error) {
	root = strings.TrimSuffix(path.Clean("/"+root), "/")
	expand := map[string]bool{"/": true}
	for _, mp := range mountPoints {
		if _, err := host.Lstat(mp); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for dir := path.Dir(mp); dir != "/"; dir = path.Dir(dir) {
			fi, err := host.Lstat(dir)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if !fi.IsDir() {
				return nil, fmt.Errorf("cannot mount on %s: %s is not a directory on the host", mp, dir)
			}
			for a := dir; a != "/"; a = path.Dir(a) {
				expand[a] = true
			}
			break
		}
	}
	var args []string
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := host.ReadDir(dir)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		slices.Sort(names)
		for _, name := range names {
			p := path.Join(dir, name)
			if skip[p] {
				continue
			}
			fi, err := host.Lstat(p)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // removed while listing
				}
				return err
			}
			switch {
			case expand[p]:
				args = append(args, "--dir", p)
				if err := walk(p); err != nil {
					return err
				}
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := host.Readlink(p)
				if err != nil {
					return err
				}
				args = append(args, "--symlink", target, p)
			default:
				args = append(args, "--ro-bind", root+p, p)
			}
		}
		return nil
	}
	if err := walk("/"); err != nil {
		return nil, err
	}
	return args, nil
}
