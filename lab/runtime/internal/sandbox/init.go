package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// InitArg is the first argument that turns the runtime's own executable into
// the init helper: inside a MapIDs sandbox (as root of its user namespace)
// it takes the container's groups, GID and UID, then executes the command.
// Dropping from root to a non-zero UID clears every capability, as runc does
// for a non-root container. The helper reaches the sandbox as an open
// descriptor (/proc/self/fd/N), so no file of it is visible in there, and it
// is gone once the command runs (exec replaces it).
const InitArg = "kbuild-lab-init"

// InitArgs returns the argv that runs argv through the init helper at exe
// (a path valid inside the sandbox) as uid/gid with the supplementary groups.
func InitArgs(exe string, uid, gid int64, groups []int64, argv []string) []string {
	gs := make([]string, len(groups))
	for i, g := range groups {
		gs[i] = strconv.FormatInt(g, 10)
	}
	out := []string{exe, InitArg, strconv.FormatInt(uid, 10), strconv.FormatInt(gid, 10), strings.Join(gs, ","), "--"}
	return append(out, argv...)
}

func init() {
	if len(os.Args) > 1 && os.Args[1] == InitArg {
		os.Exit(runInit(os.Args[2:]))
	}
}

// runInit is the helper's body: args are UID GID GROUPS -- ARGV. It returns
// only on failure: 127 when the command is not found, 126 otherwise (the
// shell's codes; the runtime checks the command before it starts).
func runInit(args []string) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "kbuild-lab-init: "+format+"\n", a...)
		return code
	}
	if len(args) < 5 || args[3] != "--" {
		return fail(126, "usage: %s UID GID GROUPS -- COMMAND...", InitArg)
	}
	uid, err1 := strconv.Atoi(args[0])
	gid, err2 := strconv.Atoi(args[1])
	if err := errors.Join(err1, err2); err != nil {
		return fail(126, "%v", err)
	}
	var groups []int
	if args[2] != "" {
		for _, s := range strings.Split(args[2], ",") {
			g, err := strconv.Atoi(s)
			if err != nil {
				return fail(126, "group %q: %v", s, err)
			}
			groups = append(groups, g)
		}
	}
	argv := args[4:]
	if err := syscall.Setgroups(groups); err != nil {
		return fail(126, "setgroups %v: %v", groups, err)
	}
	if err := syscall.Setresgid(gid, gid, gid); err != nil {
		return fail(126, "setresgid %d: %v", gid, err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		return fail(126, "setresuid %d: %v", uid, err)
	}
	// The command gets stdin, stdout and stderr only (this executable's
	// descriptor among the others).
	if entries, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, e := range entries {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
				syscall.CloseOnExec(fd)
			}
		}
	}
	path, err := exec.LookPath(argv[0])
	if errors.Is(err, exec.ErrDot) {
		err = nil
	}
	if err != nil {
		return fail(127, "%v", err)
	}
	err = syscall.Exec(path, argv, os.Environ())
	return fail(126, "exec %s: %v", path, err)
}
