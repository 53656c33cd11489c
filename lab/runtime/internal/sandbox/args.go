// Package sandbox runs one container's process in a bubblewrap sandbox and
// enters it again for exec. bubblewrap's options are documented in bwrap(1)
// (github.com/containers/bubblewrap); nsenter's in nsenter(1) (util-linux).
package sandbox

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Bind mounts a host path (directory or file) into the sandbox.
type Bind struct {
	// Source is the host path; Dest the absolute path in the sandbox.
	Source, Dest string
	ReadOnly     bool
}

// DefaultCapabilities are the capabilities a non-privileged container running
// as root keeps: containerd's default set (oci.defaultUnixCaps).
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Spec is what a sandbox looks like from inside.
type Spec struct {
	// Root is the host directory of the image's root filesystem, bound
	// read-only as the sandbox's root; "" runs on the host's own root
	// filesystem (read-only, with Masks hidden).
	Root string
	// MapIDs maps root and the container's IDs to the same IDs on the host
	// (0 to 0, UID to UID, GID and Groups to themselves), so that the
	// image's files belong to root and what the container writes belongs
	// to its user, as with a container runtime. It needs the runtime to be
	// root (it writes the maps; bwrap waits on --userns-block-fd), and the
	// command then runs through the init helper (see InitArgs). Without it,
	// bwrap maps the container's UID and GID to the runtime's own user, and
	// every other ID to the overflow ID.
	MapIDs bool
	// Groups are the supplementary groups (fsGroup, supplementalGroups);
	// only with MapIDs.
	Groups []int64
	// WorkingDir is the absolute working directory; "" means "/".
	WorkingDir string
	// UID and GID of the process inside the sandbox's user namespace.
	UID, GID int64
	// Privileged keeps every capability inside the user namespace (which
	// is still no capability on the host).
	Privileged bool
	// Capabilities is the set kept by a non-privileged container running as
	// UID 0 (CAP_ names); ignored otherwise.
	Capabilities []string
	// Hostname is the UTS hostname (the pod's name, like the kubelet).
	Hostname string
	// Binds are the writable (or read-only) mounts: the pod's /workspace,
	// the container's /tmp, emptyDir volumes, the termination-log file.
	Binds []Bind
	// Masks are host directories hidden behind an empty read-only tmpfs
	// (the runtime's own state and credentials). Missing ones are ignored.
	Masks []string
}

// The descriptors Start passes to bwrap: its options (--args), its report
// (--info-fd), with MapIDs the pipe it waits on until the ID maps are
// written (--userns-block-fd) and the init helper's executable.
const (
	argsFD        = 3
	infoFD        = 4
	usernsBlockFD = 5
	helperFD      = 6
)

// BwrapArgs returns bubblewrap's options for spec (everything before "--"
// and the command): new user, PID, IPC and UTS namespaces (the network is
// the host's, see docs/lab.md); the image's root filesystem, or the host's,
// read-only (see rootArgs); fresh /dev and /proc; masks; binds; the tmpfs
// root remounted read-only; the working directory; the user.
func BwrapArgs(spec Spec, host HostFS) ([]string, error) {
	host = view(host, spec.Root)
	binds := slices.Clone(spec.Binds)
	for i, b := range binds {
		if !path.IsAbs(b.Dest) || path.Clean(b.Dest) != b.Dest || b.Dest == "/" {
			return nil, fmt.Errorf("mount path %q must be an absolute, clean path other than /", b.Dest)
		}
		if under(b.Dest, "/proc") {
			return nil, fmt.Errorf("mount path %q is under /proc", b.Dest)
		}
		resolved, err := resolve(host, b.Dest)
		if err != nil {
			return nil, err
		}
		binds[i].Dest = resolved
	}
	// Parents first, so that a bind inside another one lands on top of it.
	slices.SortStableFunc(binds, func(a, b Bind) int { return strings.Count(a.Dest, "/") - strings.Count(b.Dest, "/") })

	skip := map[string]bool{"/proc": true, "/dev": true}
	var mountPoints []string
	for _, b := range binds {
		skip[b.Dest] = true
		nested := under(b.Dest, "/dev")
		for _, o := range binds {
			nested = nested || (o.Dest != b.Dest && under(b.Dest, o.Dest))
		}
		if !nested {
			mountPoints = append(mountPoints, b.Dest)
		}
	}
	uid, gid := spec.UID, spec.GID
	args := []string{
		"--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
		"--die-with-parent", "--new-session",
	}
	if spec.MapIDs {
		args = append(args, "--userns-block-fd", strconv.Itoa(usernsBlockFD))
	} else {
		args = append(args, "--uid", strconv.FormatInt(uid, 10), "--gid", strconv.FormatInt(gid, 10))
	}
	if spec.Hostname != "" {
		args = append(args, "--hostname", spec.Hostname)
	}
	wd := spec.WorkingDir
	if wd == "" {
		wd = "/"
	}
	// A working directory the image lacks is created (root's, 0755), as
	// runc does; one inside a bind is the runtime's to create.
	var makeWD bool
	if wd != "/" && !slices.ContainsFunc(binds, func(b Bind) bool { return under(wd, b.Dest) }) {
		if resolved, err := resolve(host, path.Clean(wd)); err == nil {
			if _, err := host.Lstat(resolved); err != nil {
				wd, makeWD = resolved, true
				mountPoints = append(mountPoints, wd)
			}
		}
	}
	root, err := rootArgs(host, spec.Root, mountPoints, skip)
	if err != nil {
		return nil, err
	}
	args = append(args, root...)
	// /dev/shm is a world-writable tmpfs, as containerd gives it (Python multiprocessing locks need it).
	args = append(args, "--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm", "--proc", "/proc")
	var masks []string
	if spec.Root == "" {
		// With an image, nothing of the host is visible to hide.
		if masks, err = maskPaths(host, spec.Masks); err != nil {
			return nil, err
		}
	}
	for _, m := range masks {
		args = append(args, "--perms", "0555", "--tmpfs", m, "--remount-ro", m)
	}
	for _, b := range binds {
		flag := "--bind"
		if b.ReadOnly {
			flag = "--ro-bind"
		}
		args = append(args, flag, b.Source, b.Dest)
	}
	if makeWD {
		args = append(args, "--dir", wd)
	}
	args = append(args, "--remount-ro", "/")
	args = append(args, "--chdir", wd)
	if uid == 0 && !spec.Privileged {
		args = append(args, "--cap-drop", "ALL")
		for _, c := range spec.Capabilities {
			args = append(args, "--cap-add", c)
		}
	}
	return args, nil
}

// NsenterArgs returns nsenter's arguments that run argv inside the running
// sandbox whose PID-namespace init process is initPID on the host: its user,
// mount, PID, network, IPC and UTS namespaces, as uid/gid, in workingDir
// (a path inside the sandbox: --wdns, util-linux 2.38 or later). With
// helper set (a MapIDs sandbox), nsenter enters as root and argv is run by
// the init helper passed as descriptor 3, which takes the container's
// user and groups (nsenter's --setgid would drop the supplementary groups).
func NsenterArgs(initPID int, uid, gid int64, groups []int64, helper bool, workingDir string, argv []string) []string {
	if workingDir == "" {
		workingDir = "/"
	}
	args := []string{
		"--target", strconv.Itoa(initPID),
		"--user", "--mount", "--pid", "--net", "--ipc", "--uts",
	}
	if helper {
		args = append(args, "--wdns="+workingDir, "--")
		return append(args, InitArgs("/proc/self/fd/3", uid, gid, groups, argv)...)
	}
	args = append(args, "--setuid", strconv.FormatInt(uid, 10), "--setgid", strconv.FormatInt(gid, 10),
		"--wdns="+workingDir, "--")
	return append(args, argv...)
}

// maskPaths returns the existing directories among masks, symlinks
// resolved, without those inside another mask (already hidden), sorted.
func maskPaths(host HostFS, masks []string) ([]string, error) {
	var dirs []string
	for _, m := range masks {
		r, err := resolve(host, path.Clean(m))
		if err != nil {
			return nil, err
		}
		if fi, err := host.Lstat(r); err == nil && fi.IsDir() && r != "/" {
			dirs = append(dirs, r)
		}
	}
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	var out []string
	for _, d := range dirs {
		if !slices.ContainsFunc(out, func(o string) bool { return under(d, o) }) {
			out = append(out, d)
		}
	}
	return out, nil
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}
