package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"kbuild.dev/lab/runtime/internal/sandbox"
)

// exec serves /exec/{namespace}/{pod}[/{uid}]/{container}?command=...&input=1
// &output=1&error=1&tty=0: it upgrades the connection (SPDY or WebSocket,
// negotiated by remotecommand.ServeExec) and runs the command inside the
// running container. A container that is not running is "not found".
func (s *handlers) exec(w http.ResponseWriter, r *http.Request) {
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cmd := r.URL.Query()["command"]
	if len(cmd) == 0 {
		http.Error(w, "missing command", http.StatusBadRequest)
		return
	}
	ns, pod, uid, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("uid"), r.PathValue("container")
	target, err := s.backend.ExecTarget(ns, pod, types.UID(uid), container)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	remotecommand.ServeExec(w, r, executor{target: target}, ns+"/"+pod, uid, container, cmd, opts,
		idleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// executor runs one exec request in its target container.
type executor struct {
	target sandbox.ExecOptions
}

// ExecInContainer implements remotecommand.Executor. A non-zero exit is
// returned as an exit error, which ServeExec reports to the client as the
// command's exit code.
func (e executor) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader, out, errOut io.WriteCloser,
	tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	opts := e.target
	opts.Argv, opts.TTY = cmd, tty
	if in != nil {
		opts.Stdin = in
	}
	if out != nil {
		opts.Stdout = out
	}
	if errOut != nil {
		opts.Stderr = errOut
	}
	if tty {
		opts.Env = append(opts.Env, "TERM=xterm")
		if resize != nil {
			sizes := make(chan sandbox.TerminalSize)
			go func() {
				defer close(sizes)
				for s := range resize {
					sizes <- sandbox.TerminalSize{Width: s.Width, Height: s.Height}
				}
			}()
			opts.Resize = sizes
		}
	}
	code, err := sandbox.Exec(ctx, opts)
	if err != nil {
		return err
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}
