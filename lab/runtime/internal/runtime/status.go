package runtime

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"kbuild.dev/lab/runtime/internal/podstatus"
)

// statusRetry is the pause before retrying a failed status write.
const statusRetry = time.Second

// markDirty asks the status loop to write the pod's status.
func (w *podWorker) markDirty() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

// statusLoop writes the status whenever it is marked dirty, coalescing
// bursts of changes into one write, until stop is closed.
func (w *podWorker) statusLoop(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-w.dirty:
			if !w.writeStatus() {
				select {
				case <-stop:
					return
				case <-time.After(statusRetry):
					w.markDirty()
				}
			}
		}
	}
}

// writeStatus writes the current state as the pod's status with PUT
// pods/status, on the latest object (re-read on a conflict), skipping the
// write when nothing changed. It reports false when the write should be
// retried. Nothing is written once the runtime shuts down.
func (w *podWorker) writeStatus() bool {
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	if reason, _ := w.killState(); reason == killShutdown {
		return true
	}
	w.mu.Lock()
	st := w.st
	st.Init, st.Containers = slices.Clone(st.Init), slices.Clone(st.Containers)
	pod := w.pod
	w.mu.Unlock()
	if st.StartTime.IsZero() {
		return true // adopted, nothing of ours to write
	}
	pods := w.m.cfg.Client.CoreV1().Pods(pod.Namespace)
	for attempt := 0; attempt < 5; attempt++ {
		status := podstatus.Build(pod, st, time.Now())
		if equality.Semantic.DeepEqual(status, pod.Status) {
			return true
		}
		updated := pod.DeepCopy()
		updated.Status = status
		_, err := pods.UpdateStatus(w.m.ctx, updated, metav1.UpdateOptions{})
		switch {
		case err == nil:
			return true
		case apierrors.IsNotFound(err):
			return true
		case apierrors.IsConflict(err):
			fresh, gerr := pods.Get(w.m.ctx, pod.Name, metav1.GetOptions{})
			if gerr != nil {
				return apierrors.IsNotFound(gerr)
			}
			if fresh.UID != w.uid {
				return true
			}
			pod = fresh
		default:
			klog.ErrorS(err, "Writing pod status", "pod", klog.KObj(pod))
			return false
		}
	}
	return false
}

// waitingAll returns a waiting state with reason for each container.
func waitingAll(cs []corev1.Container, reason string) []podstatus.Container {
	out := make([]podstatus.Container, len(cs))
	for i, c := range cs {
		out[i] = podstatus.Container{Name: c.Name, Image: c.Image, Waiting: &podstatus.Waiting{Reason: reason}}
	}
	return out
}

// set changes the state of container i (an init container if init) and
// marks the status dirty.
func (w *podWorker) set(init bool, i int, f func(*podstatus.Container)) {
	w.mu.Lock()
	if init {
		f(&w.st.Init[i])
	} else {
		f(&w.st.Containers[i])
	}
	w.mu.Unlock()
	w.markDirty()
}

// setAll changes the state of every init container (init) or container.
func (w *podWorker) setAll(init bool, f func(*podstatus.Container)) {
	w.mu.Lock()
	cs := w.st.Containers
	if init {
		cs = w.st.Init
	}
	for i := range cs {
		f(&cs[i])
	}
	w.mu.Unlock()
	w.markDirty()
}

// setWaiting puts container i in the waiting state.
func (w *podWorker) setWaiting(init bool, i int, reason, message string) {
	w.set(init, i, func(c *podstatus.Container) {
		c.Waiting = &podstatus.Waiting{Reason: reason, Message: message}
	})
}

// startedBefore reports whether a non-terminal pod already had a container
// started, by an earlier run of the runtime whose sandboxes died with it.
func startedBefore(pod *corev1.Pod) bool {
	for _, s := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
		if s.State.Running != nil || s.State.Terminated != nil {
			return true
		}
	}
	return false
}

// adopt takes over a pod an earlier run of the runtime started. A finished
// pod keeps its status. A pod that was running (recovered) is failed: its
// sandboxes died with that runtime, so running containers are reported
// terminated (Error, 137) and waiting ones ContainerStatusUnknown.
func (w *podWorker) adopt(pod *corev1.Pod, recovered bool) {
	if !recovered {
		return
	}
	now := time.Now()
	killed := &podstatus.Terminated{ExitCode: 137, Reason: podstatus.ReasonError, StartedAt: now, FinishedAt: now,
		Message: "The lab runtime restarted; the container's sandbox was killed with it"}
	convert := func(specs []corev1.Container, statuses []corev1.ContainerStatus, unknownWaiting bool) []podstatus.Container {
		out := waitingAll(specs, podstatus.ReasonPodInitializing)
		for i := range out {
			for _, s := range statuses {
				if s.Name != out[i].Name {
					continue
				}
				c := &out[i]
				c.Image, c.ImageID, c.ContainerID = s.Image, s.ImageID, s.ContainerID
				switch {
				case s.State.Terminated != nil:
					t := s.State.Terminated
					c.Waiting = nil
					c.StartedAt = t.StartedAt.Time
					c.Terminated = &podstatus.Terminated{ExitCode: t.ExitCode, Reason: t.Reason, Message: t.Message,
						StartedAt: t.StartedAt.Time, FinishedAt: t.FinishedAt.Time}
				case s.State.Running != nil:
					c.Waiting = nil
					c.StartedAt = s.State.Running.StartedAt.Time
					k := *killed
					k.StartedAt = c.StartedAt
					c.Terminated = &k
				case s.State.Waiting != nil:
					c.Waiting = &podstatus.Waiting{Reason: s.State.Waiting.Reason, Message: s.State.Waiting.Message}
				}
			}
			if unknownWaiting && out[i].Terminated == nil {
				out[i].Waiting = nil
				out[i].Terminated = &podstatus.Terminated{ExitCode: 137, Reason: podstatus.ReasonStatusUnknown, StartedAt: now, FinishedAt: now,
					Message: "The container could not be located when the pod was terminated"}
			}
		}
		return out
	}
	startTime := now
	if pod.Status.StartTime != nil {
		startTime = pod.Status.StartTime.Time
	}
	w.mu.Lock()
	w.st = podstatus.Pod{
		StartTime: startTime, HostIP: w.hostIP,
		Init:       convert(pod.Spec.InitContainers, pod.Status.InitContainerStatuses, false),
		Containers: convert(pod.Spec.Containers, pod.Status.ContainerStatuses, true),
	}
	w.mu.Unlock()
	w.markDirty()
}
