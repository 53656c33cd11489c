package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// ExecOptions describe a command run inside a running sandbox.
type ExecOptions struct {
	// Nsenter is the nsenter binary (util-linux).
	Nsenter string
	// InitPID is the sandbox's Process.InitPID.
	InitPID  int
	UID, GID int64
	// Groups are the supplementary groups; MapIDs says the sandbox maps
	// IDs (Spec.MapIDs): the command then takes its user and groups
	// through the init helper.
	Groups     []int64
	MapIDs     bool
	WorkingDir string
	Argv       []string
	Env        []string
	// TTY runs the command on a new pseudo-terminal whose output goes to
	// Stdout (Stderr is unused, as with a container runtime).
	TTY bool
	// Stdin, Stdout and Stderr may be nil.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Resize receives terminal sizes when TTY is set; may be nil.
	Resize <-chan TerminalSize
	// Bwrap and BwrapArgs start a new sandbox like the container's, used
	// instead of nsenter when the runtime is not root (see Exec).
	Bwrap     string
	BwrapArgs []string
}

// TerminalSize is a terminal's width and height in characters.
type TerminalSize struct {
	Width, Height uint16
}

// outputGrace is how long Exec waits, after the command has exited, for
// processes it left behind to close their output.
const outputGrace = 2 * time.Second

// Exec runs opts.Argv in the sandbox's namespaces with nsenter and returns
// its exit code (128+N when killed by signal N). stdin is streamed: the
// command sees EOF when Stdin ends. When ctx ends first, the command and its
// descendants are killed. An error means it could not be started.
//
// As root, the command joins the running sandbox with nsenter. Otherwise
// nsenter cannot: bwrap nests the container's user namespace inside the one
// that owns its other namespaces (it needs root there to mount devpts), and
// an unprivileged process that has joined the inner one may not join the
// others. Then the command runs in a new sandbox built like the container's
// (same mounts, /tmp, user, working directory, environment), which does not
// see the container's processes.
func Exec(ctx context.Context, opts ExecOptions) (int, error) {
	enter := os.Geteuid() == 0 || opts.Bwrap == ""
	var cmd *exec.Cmd
	if enter {
		cmd = exec.Command(opts.Nsenter, NsenterArgs(opts.InitPID, opts.UID, opts.GID, opts.Groups, opts.MapIDs, opts.WorkingDir, opts.Argv)...)
		if opts.MapIDs {
			helper, err := helperExecutable()
			if err != nil {
				return 0, fmt.Errorf("the init helper: %w", err)
			}
			defer helper.Close()
			cmd.ExtraFiles = []*os.File{helper}
		}
	} else {
		cmd = exec.Command(opts.Bwrap, slices.Concat(opts.BwrapArgs, []string{"--"}, opts.Argv)...)
	}
	cmd.Env = opts.Env
	cmd.WaitDelay = outputGrace
	var ptmx *os.File
	if opts.TTY {
		open := pty.Open
		if enter {
			open = func() (*os.File, *os.File, error) { return openPTY(opts.InitPID) }
		}
		m, tty, err := open()
		if err != nil {
			return 0, err
		}
		defer m.Close()
		defer tty.Close()
		ptmx = m
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Pdeathsig: syscall.SIGKILL}
	} else {
		cmd.Stdout, cmd.Stderr = opts.Stdout, opts.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	var stdinW *os.File
	if opts.Stdin != nil && !opts.TTY {
		r, w, err := os.Pipe()
		if err != nil {
			return 0, err
		}
		defer r.Close()
		cmd.Stdin, stdinW = r, w
	}
	if err := cmd.Start(); err != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		return 0, err
	}
	if stdinW != nil {
		go func() {
			_, _ = io.Copy(stdinW, opts.Stdin)
			stdinW.Close()
		}()
	}
	var outDone chan struct{}
	if ptmx != nil {
		if tty, ok := cmd.Stdin.(*os.File); ok {
			tty.Close()
		}
		if opts.Stdin != nil {
			go func() { _, _ = io.Copy(ptmx, opts.Stdin) }()
		}
		if opts.Stdout != nil {
			outDone = make(chan struct{})
			go func() {
				_, _ = io.Copy(opts.Stdout, ptmx)
				close(outDone)
			}()
		}
		if opts.Resize != nil {
			go func() {
				for size := range opts.Resize {
					_ = pty.Setsize(ptmx, &pty.Winsize{Cols: size.Width, Rows: size.Height})
				}
			}()
		}
	}
	stop := context.AfterFunc(ctx, func() { killTree(cmd.Process.Pid, syscall.SIGKILL) })
	defer stop()
	_ = cmd.Wait()
	if outDone != nil {
		// The terminal's output ends (EIO) once no process holds it.
		select {
		case <-outDone:
		case <-time.After(outputGrace):
		}
	}
	return exitCode(cmd.ProcessState), nil
}
