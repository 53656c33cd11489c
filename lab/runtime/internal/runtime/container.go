package runtime

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	crilogs "k8s.io/cri-client/pkg/logs"
	"k8s.io/klog/v2"

	"kbuild.dev/lab/runtime/internal/crilog"
	"kbuild.dev/lab/runtime/internal/imageref"
	"kbuild.dev/lab/runtime/internal/podstatus"
	"kbuild.dev/lab/runtime/internal/sandbox"
)

// container is a started container: its sandbox and what exec needs.
type container struct {
	id      string
	proc    *sandbox.Process
	cfg     *containerConfig
	running atomic.Bool
}

// Timings of the simulated image pulls and of retries; the backoff follows
// the kubelet's image pull backoff (10 s doubling to 300 s).
const (
	pullAttempt       = time.Second
	errImagePullShown = 2 * time.Second
	pullBackoffStart  = 10 * time.Second
	pullBackoffMax    = 300 * time.Second
	slowPullDuration  = 10 * time.Second
	configRetry       = 10 * time.Second
	memoryInterval    = 250 * time.Millisecond
	// Limits of a termination message (kubelet: 4096 bytes from the file,
	// or the last 80 lines / 2048 bytes of the log).
	maxTerminationMessage = 4096
	fallbackLogLines      = 80
	fallbackLogBytes      = 2048
)

// runContainer takes container c (init container i, or container i) from
// its image to its exit, recording each state, and reports whether it
// exited 0. It returns false at once when the pod is being killed.
func (w *podWorker) runContainer(pod *corev1.Pod, c *corev1.Container, init bool, i int) bool {
	ref := containerRef(pod, c.Name, init)
	img := w.m.cfg.Images.Resolve(c.Image, w.arch)
	if problem := emulationProblem(w.m.cfg.BinfmtDir, w.arch); problem != "" {
		// Checked first: the node's architecture is what cannot run here,
		// whatever the image.
		w.startFailed(ref, c.Name, init, i, img, runcFailure(fmt.Errorf("exec format error: %s", problem)).Error())
		return false
	}
	if !w.pull(ref, img, c.ImagePullPolicy, init, i) {
		return false
	}
	var cfg *containerConfig
	for cfg == nil {
		var err error
		cfg, err = w.configure(pod, c, img)
		if se, ok := err.(*startError); ok {
			w.startFailed(ref, c.Name, init, i, img, se.Error())
			return false
		}
		if err != nil {
			w.setWaiting(init, i, "CreateContainerConfigError", err.Error())
			w.event(ref, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
			if !sleepCtx(w.ctx, configRetry) {
				return false
			}
		}
	}
	return w.execute(pod, c, cfg, img, ref, init, i)
}

// pull simulates the image pull with the kubelet's events and states; see
// package imageref for what resolves. The catalogue's images are present on
// every node: policy Always "pulls" them again (Pulling, Pulled events);
// an image the catalogue lacks fails to pull, or with policy Never waits
// ErrImageNeverPull. It reports false when the container must not start
// (killed).
func (w *podWorker) pull(ref *corev1.ObjectReference, img imageref.Image, policy corev1.PullPolicy, init bool, i int) bool {
	if policy == corev1.PullNever && img.Kind == imageref.PullError {
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", img.Spec)
		w.setWaiting(init, i, "ErrImageNeverPull", msg)
		w.event(ref, corev1.EventTypeWarning, "ErrImageNeverPull", msg)
		<-w.ctx.Done()
		return false
	}
	took := slowPullDuration
	if policy == corev1.PullAlways && img.Kind == imageref.Present {
		img.Kind, took = imageref.SlowPull, pullAttempt
	}
	switch img.Kind {
	case imageref.Invalid:
		w.setWaiting(init, i, "InvalidImageName", img.Message)
		w.event(ref, corev1.EventTypeWarning, "InspectFailed", img.Message)
		<-w.ctx.Done()
		return false
	case imageref.PullError:
		for backoff := pullBackoffStart; ; backoff = min(2*backoff, pullBackoffMax) {
			w.event(ref, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", img.Requested))
			if !sleepCtx(w.ctx, pullAttempt) {
				return false
			}
			w.event(ref, corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %s", img.Requested, img.Message))
			w.event(ref, corev1.EventTypeWarning, "Failed", "Error: ErrImagePull")
			w.setWaiting(init, i, "ErrImagePull", img.Message)
			if !sleepCtx(w.ctx, errImagePullShown) {
				return false
			}
			w.event(ref, corev1.EventTypeNormal, "BackOff", fmt.Sprintf("Back-off pulling image %q", img.Requested))
			w.event(ref, corev1.EventTypeWarning, "Failed", "Error: ImagePullBackOff")
			w.setWaiting(init, i, "ImagePullBackOff",
				fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %s", img.Requested, img.Message))
			if !sleepCtx(w.ctx, backoff) {
				return false
			}
		}
	case imageref.SlowPull:
		w.setWaiting(init, i, podstatus.ReasonContainerCreating, "")
		w.event(ref, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", img.Requested))
		if !sleepCtx(w.ctx, took) {
			return false
		}
		w.event(ref, corev1.EventTypeNormal, "Pulled", fmt.Sprintf(
			"Successfully pulled image %q in %s (%s including waiting). Image size: %d bytes.", img.Requested, took, took, img.Size))
	default:
		w.event(ref, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", img.Spec))
	}
	return w.ctx.Err() == nil
}

// startFailed records a container that could not be started, as a runtime
// reports it: terminated, reason StartError, exit code 128.
//
// As with containerd, the container exists: it has an ID and a log (empty,
// or bwrap's message), so `kubectl logs` answers what it holds rather than
// "is terminated", and a client following the log sees it end.
func (w *podWorker) startFailed(ref *corev1.ObjectReference, name string, init bool, i int, img imageref.Image, msg string) {
	now := time.Now()
	if f, err := os.OpenFile(w.layout.log(name), os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		f.Close()
	}
	w.set(init, i, func(c *podstatus.Container) {
		c.Waiting = nil
		c.Image, c.ImageID, c.ContainerID = img.Name, img.ID, "lab://"+containerID(w.uid, name)
		c.Terminated = &podstatus.Terminated{ExitCode: 128, Reason: podstatus.ReasonStartError, Message: msg, StartedAt: now, FinishedAt: now}
	})
	w.event(ref, corev1.EventTypeWarning, "Failed", "Error: "+msg)
}

// execute starts the sandbox, streams its output to the CRI log file,
// enforces the memory limit, stops it when the pod is killed, and records
// its end. It reports whether the container exited 0.
func (w *podWorker) execute(pod *corev1.Pod, c *corev1.Container, cfg *containerConfig, img imageref.Image, ref *corev1.ObjectReference, init bool, i int) bool {
	id := containerID(pod.UID, c.Name)
	logPath := w.layout.log(c.Name)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.startFailed(ref, c.Name, init, i, img, err.Error())
		return false
	}
	defer logFile.Close()
	logs := crilog.NewWriter(logFile, time.Now)
	outR, outW, err := os.Pipe()
	if err != nil {
		w.startFailed(ref, c.Name, init, i, img, err.Error())
		return false
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		w.startFailed(ref, c.Name, init, i, img, err.Error())
		return false
	}
	var copies sync.WaitGroup
	copies.Go(func() { copyLog(logs, crilog.Stdout, outR) })
	copies.Go(func() { copyLog(logs, crilog.Stderr, errR) })

	w.event(ref, corev1.EventTypeNormal, "Created", "Created container: "+c.Name)
	var ids *sandbox.IDMap
	if cfg.spec.MapIDs {
		ids = &sandbox.IDMap{UID: cfg.spec.UID, GID: cfg.spec.GID, Groups: cfg.spec.Groups}
	}
	proc, err := sandbox.Start(sandbox.StartOptions{
		Bwrap: w.m.cfg.Bwrap, Args: cfg.bwrapArgs, Argv: cfg.argv, Env: cfg.env, Stdout: outW, Stderr: errW, IDs: ids,
	})
	outW.Close()
	errW.Close()
	if err != nil {
		copies.Wait()
		w.startFailed(ref, c.Name, init, i, img, err.Error())
		return false
	}
	rec := &container{id: id, proc: proc, cfg: cfg}
	rec.running.Store(proc.InitPID != 0)
	started := time.Now()
	w.mu.Lock()
	w.containers[c.Name] = rec
	reason := w.reason
	w.mu.Unlock()
	if reason >= killGone {
		proc.Kill() // killed while starting
	}
	if proc.InitPID != 0 {
		w.set(init, i, func(s *podstatus.Container) {
			s.Waiting, s.StartedAt = nil, started
			s.Image, s.ImageID, s.ContainerID = img.Name, img.ID, "lab://"+id
		})
		w.event(ref, corev1.EventTypeNormal, "Started", "Started container "+c.Name)
		klog.InfoS("Container started", "pod", klog.KObj(pod), "container", c.Name, "pid", proc.PID())
	}
	if cfg.memoryLimit > 0 {
		w.m.memory.Watch(proc, cfg.memoryLimit)
	}

	killedBy := w.wait(proc, ref, c.Name)
	copies.Wait() // all output is in the log before the container is seen exited
	rec.running.Store(false)
	finished := time.Now()
	code := proc.ExitCode()
	if proc.InitPID == 0 {
		// bwrap could not set the sandbox up; its message is in the log.
		w.startFailed(ref, c.Name, init, i, img, "failed to create the sandbox: "+lastLogLines(logPath, 5, maxTerminationMessage))
		return false
	}
	reasonText := podstatus.TerminatedReason(code, proc.OOMKilled())
	if killedBy == killDeadline && !proc.OOMKilled() {
		reasonText = podstatus.ReasonDeadlineExceeded
	}
	msg := terminationMessage(w.layout.termination(c.Name), c.TerminationMessagePolicy, code, logPath)
	w.set(init, i, func(s *podstatus.Container) {
		s.Terminated = &podstatus.Terminated{ExitCode: int32(code), Reason: reasonText, Message: msg, StartedAt: started, FinishedAt: finished}
	})
	klog.InfoS("Container exited", "pod", klog.KObj(pod), "container", c.Name, "exitCode", code, "reason", reasonText)
	return code == 0
}

// copyLog copies one output stream into the log until the sandbox closes it.
func copyLog(logs *crilog.Writer, stream crilog.Stream, r *os.File) {
	defer r.Close()
	if err := logs.Copy(stream, r); err != nil {
		klog.ErrorS(err, "Copying container output to its log")
		_, _ = io.Copy(io.Discard, r) // keep the pipe drained
	}
}

// wait waits for the sandbox to exit. When the pod is killed first it sends
// SIGTERM, then SIGKILL after the grace period (or SIGKILL at once), and
// returns the kill reason.
func (w *podWorker) wait(proc *sandbox.Process, ref *corev1.ObjectReference, name string) killReason {
	select {
	case <-proc.Done():
		return killNone
	case <-w.ctx.Done():
	}
	reason, grace := w.killState()
	if reason != killShutdown {
		w.event(ref, corev1.EventTypeNormal, "Killing", "Stopping container "+name)
	}
	if grace <= 0 {
		proc.Kill()
	} else {
		proc.Terminate()
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-proc.Done():
		case <-t.C:
			proc.Kill()
		}
	}
	<-proc.Done()
	return reason
}

// terminationMessage reads the container's termination-log file (at most
// 4096 bytes); if it is empty, the policy is FallbackToLogsOnError and the
// container failed, the end of its log instead (kubelet behaviour).
func terminationMessage(path string, policy corev1.TerminationMessagePolicy, code int, logPath string) string {
	if f, err := os.Open(path); err == nil {
		b, _ := io.ReadAll(io.LimitReader(f, maxTerminationMessage))
		f.Close()
		if len(b) > 0 {
			return string(b)
		}
	}
	if policy == corev1.TerminationMessageFallbackToLogsOnError && code != 0 {
		return lastLogLines(logPath, fallbackLogLines, fallbackLogBytes)
	}
	return ""
}

// lastLogLines returns the content of the last lines of a CRI log file, at
// most maxBytes (the end is kept).
func lastLogLines(logPath string, lines, maxBytes int64) string {
	var buf bytes.Buffer
	n := lines
	_ = crilogs.ReadLogs(context.Background(), logPath, "", &crilogs.LogOptions{TailLines: &n}, nil, &buf, &buf)
	b := buf.Bytes()
	if int64(len(b)) > maxBytes {
		b = b[int64(len(b))-maxBytes:]
	}
	return string(b)
}
