package sandbox

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal from the sandbox's own devpts (its
// /dev/pts/ptmx, reached through /proc/<pid>/root), so that inside the
// sandbox the terminal has a name (/dev/pts/N) and tty(1) works. The slave is
// opened from the master with TIOCGPTPEER (Linux 4.13), which needs no path.
// Where that fails it falls back to a host terminal, which works but has no
// name inside the sandbox.
func openPTY(initPID int) (master, slave *os.File, err error) {
	m, err := os.OpenFile(fmt.Sprintf("/proc/%d/root/dev/pts/ptmx", initPID), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return pty.Open()
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return pty.Open()
	}
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, m.Fd(), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		m.Close()
		return pty.Open()
	}
	return m, os.NewFile(fd, "pty"), nil
}
