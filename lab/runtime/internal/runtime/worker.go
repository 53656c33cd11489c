package runtime

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"kbuild.dev/lab/runtime/internal/podstatus"
)

var everything = labels.Everything()

// killReason is why a pod's containers are being stopped.
type killReason int

const (
	killNone     killReason = iota
	killDeleted             // deletionTimestamp set: SIGTERM, SIGKILL after the grace period
	killDeadline            // activeDeadlineSeconds passed: same, pod Failed/DeadlineExceeded
	killGone                // pod removed from the API server: SIGKILL
	killShutdown            // the runtime stops: SIGKILL, no status written
)

// maxGrace caps every termination grace period.
const maxGrace = 30 * time.Second

// deadlineMessage is the kubelet's message for a pod past its
// activeDeadlineSeconds (pkg/kubelet/active_deadline.go).
const deadlineMessage = "Pod was active on the node longer than the specified deadline"

// podWorker drives one pod from its first sighting to its final delete.
type podWorker struct {
	m        *Manager
	uid      types.UID
	layout   layout
	hostIP   string
	nodeName string
	// arch is the node's kubernetes.io/arch label (the image platform its
	// containers run).
	arch string

	// ctx ends when the pod's containers must stop (kill).
	ctx    context.Context
	cancel context.CancelFunc
	// removed is closed when the pod is gone from the API server.
	removed     chan struct{}
	removedOnce sync.Once
	// deleting is closed at the first deletionTimestamp.
	deleting     chan struct{}
	deletingOnce sync.Once

	dirty    chan struct{} // a status write is wanted
	statusMu sync.Mutex    // one status write at a time

	mu         sync.Mutex
	pod        *corev1.Pod // the latest object seen
	st         podstatus.Pod
	reason     killReason
	containers map[string]*container // started containers, by name
	deadline   *time.Timer
	deadlineOf int64 // the activeDeadlineSeconds deadline was armed for
}

func newPodWorker(m *Manager, pod *corev1.Pod, node *corev1.Node) *podWorker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &podWorker{
		m: m, uid: pod.UID, layout: newLayout(m.cfg.StateDir, pod), hostIP: nodeIP(node), nodeName: node.Name, arch: nodeArch(node),
		ctx: ctx, cancel: cancel, removed: make(chan struct{}), deleting: make(chan struct{}),
		dirty: make(chan struct{}, 1), pod: pod, containers: map[string]*container{},
	}
	w.update(pod)
	return w
}

// nodeIP is the node's InternalIP (the lab's nodes have 127.0.0.1).
func nodeIP(node *corev1.Node) string {
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return "127.0.0.1"
}

// nodeArch is the node's kubernetes.io/arch label, amd64 when unset.
func nodeArch(node *corev1.Node) string {
	if a := node.Labels[corev1.LabelArchStable]; a != "" {
		return a
	}
	return "amd64"
}

// update records the latest pod object: a deletionTimestamp starts the
// pod's termination; a changed activeDeadlineSeconds re-arms the deadline.
func (w *podWorker) update(pod *corev1.Pod) {
	w.mu.Lock()
	w.pod = pod
	if w.deadline != nil && pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds != w.deadlineOf {
		w.armDeadlineLocked()
	}
	w.mu.Unlock()
	if pod.DeletionTimestamp != nil {
		w.deletingOnce.Do(func() { close(w.deleting) })
		w.kill(killDeleted)
	}
}

// latest returns the latest pod object seen.
func (w *podWorker) latest() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

// kill stops the pod's containers for reason. The first reason is kept,
// except that killGone and killShutdown escalate to an immediate SIGKILL.
func (w *podWorker) kill(reason killReason) {
	w.mu.Lock()
	if w.reason == killNone || reason > w.reason {
		w.reason = reason
	}
	immediate := w.reason >= killGone
	procs := make([]*container, 0, len(w.containers))
	for _, c := range w.containers {
		procs = append(procs, c)
	}
	if w.deadline != nil {
		w.deadline.Stop()
	}
	w.mu.Unlock()
	w.cancel()
	if immediate {
		for _, c := range procs {
			c.proc.Kill()
		}
	}
}

// gone is called when the pod was removed from the API server.
func (w *podWorker) gone() {
	w.kill(killGone)
	w.removedOnce.Do(func() { close(w.removed) })
}

// killState returns the kill reason and the grace period to give the
// containers (capped at maxGrace; 0 means SIGKILL at once).
func (w *podWorker) killState() (killReason, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var secs int64 = 30
	if s := w.pod.Spec.TerminationGracePeriodSeconds; s != nil {
		secs = *s
	}
	switch w.reason {
	case killDeleted:
		if s := w.pod.DeletionGracePeriodSeconds; s != nil {
			secs = *s
		}
	case killGone, killShutdown:
		secs = 0
	}
	return w.reason, min(time.Duration(secs)*time.Second, maxGrace)
}

// armDeadlineLocked (re)starts the activeDeadlineSeconds timer, counted from
// the pod's start time like the kubelet.
func (w *podWorker) armDeadlineLocked() {
	if w.deadline != nil {
		w.deadline.Stop()
		w.deadline = nil
	}
	secs := w.pod.Spec.ActiveDeadlineSeconds
	if secs == nil {
		return
	}
	w.deadlineOf = *secs
	left := time.Until(w.st.StartTime.Add(time.Duration(*secs) * time.Second))
	w.deadline = time.AfterFunc(max(left, 0), func() {
		if w.ctx.Err() != nil {
			return
		}
		w.m.events.event(w.nodeName, podRef(w.latest()), corev1.EventTypeWarning, "DeadlineExceeded", deadlineMessage)
		w.kill(killDeadline)
	})
}

// run is the worker's goroutine.
func (w *podWorker) run() {
	defer w.m.wg.Done()
	stopStatus := make(chan struct{})
	go w.statusLoop(stopStatus)
	defer close(stopStatus)

	pod := w.latest()
	switch {
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		w.adopt(pod, false)
	case startedBefore(pod):
		klog.InfoS("Pod was running when the runtime stopped: marking it failed", "pod", klog.KObj(pod))
		w.adopt(pod, true)
	default:
		w.start(pod)
	}

	select {
	case <-w.deleting:
		if w.m.ctx.Err() == nil {
			w.finalDelete()
		}
	case <-w.removed:
		w.removeDir()
	case <-w.m.ctx.Done():
	}
}

// start runs the pod: directories and volumes, init containers one by one,
// then all containers together; then records the end.
func (w *podWorker) start(pod *corev1.Pod) {
	w.mu.Lock()
	startTime := time.Now()
	if pod.Status.StartTime != nil {
		startTime = pod.Status.StartTime.Time
	}
	mainReason := podstatus.ReasonContainerCreating
	if len(pod.Spec.InitContainers) > 0 {
		mainReason = podstatus.ReasonPodInitializing
	}
	w.st = podstatus.Pod{
		StartTime: startTime, HostIP: w.hostIP,
		Init:       waitingAll(pod.Spec.InitContainers, podstatus.ReasonPodInitializing),
		Containers: waitingAll(pod.Spec.Containers, mainReason),
	}
	w.armDeadlineLocked()
	w.mu.Unlock()
	w.markDirty()
	klog.InfoS("Starting pod", "pod", klog.KObj(pod), "uid", pod.UID, "node", w.nodeName)

	if w.prepare(pod) {
		initOK := true
		for i := range pod.Spec.InitContainers {
			if !w.runContainer(pod, &pod.Spec.InitContainers[i], true, i) {
				initOK = false
				break
			}
		}
		if initOK {
			w.setAll(false, func(c *podstatus.Container) {
				c.Waiting = &podstatus.Waiting{Reason: podstatus.ReasonContainerCreating}
			})
			var wg sync.WaitGroup
			for i := range pod.Spec.Containers {
				wg.Go(func() { w.runContainer(pod, &pod.Spec.Containers[i], false, i) })
			}
			wg.Wait()
		}
	}
	w.finish()
}

// finish records the end of the pod's run: the sandbox is gone; after a
// kill, containers that never started are reported as the kubelet does
// (ContainerStatusUnknown, 137), and a deadline fails the pod.
func (w *podWorker) finish() {
	reason, _ := w.killState()
	if reason == killShutdown {
		return
	}
	w.mu.Lock()
	if w.deadline != nil {
		w.deadline.Stop()
	}
	w.st.SandboxReady = false
	if reason == killDeadline {
		w.st.Reason, w.st.Message = podstatus.ReasonDeadlineExceeded, deadlineMessage
	}
	if reason != killNone {
		now := time.Now()
		for i, c := range w.st.Containers {
			if c.Terminated == nil && !c.Running() {
				w.st.Containers[i].Waiting = nil
				w.st.Containers[i].Terminated = &podstatus.Terminated{
					ExitCode: 137, Reason: podstatus.ReasonStatusUnknown, StartedAt: now, FinishedAt: now,
					Message: "The container could not be located when the pod was terminated",
				}
			}
		}
	}
	phase := podstatus.Phase(w.st)
	w.mu.Unlock()
	w.markDirty()
	klog.InfoS("Pod finished", "pod", klog.KObj(w.latest()), "phase", phase)
}

// finalDelete is the kubelet's last step for a deleted pod: write the final
// status, delete the object with grace period 0, remove the directory.
func (w *podWorker) finalDelete() {
	pod := w.latest()
	w.writeStatus()
	zero := int64(0)
	opts := metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &w.uid}}
	for attempt := 0; ; attempt++ {
		err := w.m.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(w.m.ctx, pod.Name, opts)
		if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			break
		}
		klog.ErrorS(err, "Deleting pod", "pod", klog.KObj(pod))
		if attempt == 5 || !sleepCtx(w.m.ctx, time.Second<<attempt) {
			break
		}
	}
	klog.InfoS("Pod deleted", "pod", klog.KObj(pod))
	w.removeDir()
}

func (w *podWorker) removeDir() {
	if err := w.layout.remove(); err != nil {
		klog.ErrorS(err, "Removing pod directory", "dir", w.layout.dir)
	}
}

// sleepCtx waits for d and reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
