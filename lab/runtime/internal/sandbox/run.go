package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Process is one running sandbox: bwrap on the host, bwrap's reaper as PID 1
// of the sandbox's PID namespace (InitPID), and the container's command as
// its child.
type Process struct {
	cmd *exec.Cmd
	// InitPID is the host PID of the sandbox's PID-namespace init; exec
	// enters its namespaces, and killing it kills everything inside.
	InitPID int

	done      chan struct{}
	exitCode  int
	oomKilled atomic.Bool
	killOnce  sync.Once
}

// StartOptions says what to run.
type StartOptions struct {
	// Bwrap is the bubblewrap binary; Args its options from BwrapArgs.
	Bwrap string
	Args  []string
	// Argv is the command (argv[0] is looked up in Env's PATH inside the
	// sandbox); Env the whole environment, "NAME=value".
	Argv []string
	Env  []string
	// Stdout and Stderr receive the command's output (pipe write ends; the
	// caller closes its copies after Start).
	Stdout, Stderr *os.File
	// IDs, for a Spec with MapIDs (Args from BwrapArgs then wait on
	// --userns-block-fd), are the IDs to map; Start writes the maps and runs
	// Argv through the init helper when the user is not root.
	IDs *IDMap
}

// IDMap is the user and groups of a MapIDs sandbox.
type IDMap struct {
	UID, GID int64
	Groups   []int64
}

// uidMap and gidMap are the maps' contents: 0 to 0 (the image's owner) and
// each of the container's IDs to itself.
func (m *IDMap) uidMap() string { return idLines(append([]int64{0}, m.UID)) }
func (m *IDMap) gidMap() string { return idLines(append([]int64{0, m.GID}, m.Groups...)) }

func idLines(ids []int64) string {
	seen := map[int64]bool{}
	var b strings.Builder
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			fmt.Fprintf(&b, "%d %d 1\n", id, id)
		}
	}
	return b.String()
}

// writeMaps writes pid's uid_map and gid_map (the runtime is root in the
// parent user namespace, so any IDs may be mapped and setgroups stays allowed).
func (m *IDMap) writeMaps(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/uid_map", pid), []byte(m.uidMap()), 0); err != nil {
		return err
	}
	return os.WriteFile(fmt.Sprintf("/proc/%d/gid_map", pid), []byte(m.gidMap()), 0)
}

// helperExecutable opens the runtime's own executable for the init helper:
// /proc/self/exe, the running file itself, which stays valid when the file
// on disk is replaced or removed (the lab's cache keeps one runtime build).
func helperExecutable() (*os.File, error) {
	return os.Open("/proc/self/exe")
}

// infoTimeout bounds the wait for bwrap's --info-fd report.
const infoTimeout = 30 * time.Second

// Start runs opts.Argv in a new sandbox and returns once bwrap has set it up
// and forked the command (or failed to). bwrap reads its options from a pipe (--args), so that the
// command line inside the sandbox stays short, and reports the sandbox's
// init PID on --info-fd. stdin is /dev/null.
func Start(opts StartOptions) (*Process, error) {
	argsR, argsW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	infoR, infoW, err := os.Pipe()
	if err != nil {
		argsR.Close()
		argsW.Close()
		return nil, err
	}
	defer infoR.Close()
	argv := opts.Argv
	extra := []*os.File{argsR, infoW}
	var blockW *os.File
	if opts.IDs != nil {
		blockR, w, err := os.Pipe()
		if err != nil {
			argsR.Close()
			argsW.Close()
			infoW.Close()
			return nil, err
		}
		defer blockR.Close()
		defer w.Close()
		blockW = w
		helper, err := helperExecutable()
		if err != nil {
			argsR.Close()
			argsW.Close()
			infoW.Close()
			return nil, fmt.Errorf("the init helper: %w", err)
		}
		defer helper.Close()
		extra = append(extra, blockR, helper)
		if opts.IDs.UID != 0 || len(opts.IDs.Groups) > 0 {
			argv = InitArgs(fmt.Sprintf("/proc/self/fd/%d", helperFD), opts.IDs.UID, opts.IDs.GID, opts.IDs.Groups, argv)
		}
	}
	cmd := exec.Command(opts.Bwrap, append([]string{"--args", strconv.Itoa(argsFD), "--info-fd", strconv.Itoa(infoFD), "--"}, argv...)...)
	cmd.Env = opts.Env
	cmd.Stdout = opts.Stdout
	cmd.Stderr = opts.Stderr
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	argsR.Close()
	infoW.Close()
	if err != nil {
		argsW.Close()
		return nil, fmt.Errorf("starting %s: %w", opts.Bwrap, err)
	}
	go func() {
		_, _ = argsW.Write([]byte(strings.Join(opts.Args, "\x00") + "\x00"))
		argsW.Close()
	}()
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		p.exitCode = exitCode(cmd.ProcessState)
		close(p.done)
	}()

	var info struct {
		ChildPID int `json:"child-pid"`
	}
	decoded := make(chan error, 1)
	go func() { decoded <- json.NewDecoder(infoR).Decode(&info) }()
	select {
	case err = <-decoded:
	case <-time.After(infoTimeout):
		err = errors.New("timed out")
	}
	if err != nil || info.ChildPID == 0 {
		// bwrap failed before starting the command; its message is on stderr.
		p.Kill()
		<-p.done
		return p, nil
	}
	if opts.IDs != nil {
		// bwrap waits on --userns-block-fd until the maps are written.
		err := opts.IDs.writeMaps(info.ChildPID)
		if err != nil {
			fmt.Fprintf(opts.Stderr, "kbuild-lab-runtime: writing the user namespace's ID maps: %v\n", err)
			p.Kill()
			<-p.done
			return p, nil
		}
		_, _ = blockW.Write([]byte{1})
		blockW.Close()
	}
	p.InitPID = info.ChildPID
	// bwrap reports the init's PID before the init has built the sandbox;
	// the command is forked once it is built.
	for len(childrenOf(p.InitPID)) == 0 {
		select {
		case <-p.done:
			return p, nil
		case <-time.After(5 * time.Millisecond):
		}
	}
	return p, nil
}

// exitCode is the process's exit code, or 128+N when killed by signal N.
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Done is closed when the sandbox has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the command's exit code (bwrap reports 128+N for a command
// killed by signal N); valid after Done.
func (p *Process) ExitCode() int { return p.exitCode }

// OOMKilled reports whether the memory limit watchdog killed the sandbox.
func (p *Process) OOMKilled() bool { return p.oomKilled.Load() }

// PID is bwrap's host PID, the root of the sandbox's process tree.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Terminate sends SIGTERM to the container's main process (the child of the
// sandbox's init), as a runtime stops a container; the sandbox ends when it
// exits.
// The init ignores SIGTERM (a PID-namespace init only gets the signals it
// handles), and right after Start the command may not be forked yet: so
// Terminate waits up to a second for it, and kills the sandbox if it never
// appears.
func (p *Process) Terminate() {
	for range 50 {
		if p.InitPID == 0 {
			break
		}
		if children := childrenOf(p.InitPID); len(children) > 0 {
			for _, pid := range children {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
			return
		}
		select {
		case <-p.done:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.Kill()
}

// Kill sends SIGKILL to the sandbox's init, which takes every process of its
// PID namespace with it; bwrap then reaps it and exits (137). bwrap itself
// is killed only if it has not exited a second later: killing it first would
// leave the init to be reaped by the host's init.
func (p *Process) Kill() {
	p.killOnce.Do(func() {
		if p.InitPID == 0 {
			_ = p.cmd.Process.Kill()
			return
		}
		_ = syscall.Kill(p.InitPID, syscall.SIGKILL)
		go func() {
			select {
			case <-p.done:
			case <-time.After(time.Second):
				_ = p.cmd.Process.Kill()
			}
		}()
	})
}

// MemoryWatcher enforces memory limits by sampling: every interval it reads
// /proc once and compares the resident memory of each watched sandbox's
// process tree with its limit; over it, the sandbox is killed and marked
// OOMKilled. A spike shorter than interval can be missed.
type MemoryWatcher struct {
	interval time.Duration
	mu       sync.Mutex
	limits   map[*Process]int64
	running  bool
}

// NewMemoryWatcher returns a watcher sampling every interval.
func NewMemoryWatcher(interval time.Duration) *MemoryWatcher {
	return &MemoryWatcher{interval: interval, limits: map[*Process]int64{}}
}

// Watch enforces limit (bytes) on p until p exits.
func (w *MemoryWatcher) Watch(p *Process, limit int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.limits[p] = limit
	if !w.running {
		w.running = true
		go w.loop()
	}
}

func (w *MemoryWatcher) loop() {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for range t.C {
		w.mu.Lock()
		watched := make(map[*Process]int64, len(w.limits))
		for p, limit := range w.limits {
			select {
			case <-p.done:
				delete(w.limits, p)
			default:
				watched[p] = limit
			}
		}
		if len(watched) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		procs := snapshot()
		for p, limit := range watched {
			if treeRSS(p.PID(), procs) > limit {
				p.oomKilled.Store(true)
				p.Kill()
			}
		}
	}
}
