package runtime

import (
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"kbuild.dev/lab/runtime/internal/podstatus"
	"kbuild.dev/lab/runtime/internal/sandbox"
)

// ErrPodNotFound is returned for a pod this runtime does not run.
var ErrPodNotFound = errors.New("pod does not exist")

// managedPod returns namespace/name if it is bound to a managed node.
func (m *Manager) managedPod(namespace, name string) (*corev1.Pod, error) {
	pod, err := m.pods.Pods(namespace).Get(name)
	if err != nil {
		return nil, ErrPodNotFound
	}
	if _, ok := m.managed(pod.Spec.NodeName); !ok {
		return nil, ErrPodNotFound
	}
	return pod, nil
}

// containerState returns the runtime's state of a container: the worker's
// when it has one, else the one recorded in the pod's status.
func (m *Manager) containerState(pod *corev1.Pod, container string) (podstatus.Container, bool) {
	if w := m.worker(pod.Namespace, pod.Name); w != nil && w.uid == pod.UID {
		w.mu.Lock()
		started := !w.st.StartTime.IsZero()
		for _, c := range slices.Concat(w.st.Init, w.st.Containers) {
			if started && c.Name == container {
				w.mu.Unlock()
				return c, true
			}
		}
		w.mu.Unlock()
	}
	for _, s := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
		if s.Name != container {
			continue
		}
		c := podstatus.Container{Name: s.Name, ContainerID: s.ContainerID}
		switch {
		case s.State.Terminated != nil:
			c.Terminated = &podstatus.Terminated{ExitCode: s.State.Terminated.ExitCode, Reason: s.State.Terminated.Reason}
		case s.State.Running != nil:
			c.StartedAt = s.State.Running.StartedAt.Time
		case s.State.Waiting != nil:
			c.Waiting = &podstatus.Waiting{Reason: s.State.Waiting.Reason}
		}
		return c, true
	}
	return podstatus.Container{}, false
}

// ContainerLog returns the path of a container's CRI log file and its
// container ID, or the kubelet's error when there is no log to read
// (pkg/kubelet/kubelet_pods.go validateContainerLogStatus). No container
// is ever restarted, so previous logs never exist.
func (m *Manager) ContainerLog(namespace, name, container string, previous bool) (path, id string, err error) {
	pod, err := m.managedPod(namespace, name)
	if err != nil {
		return "", "", fmt.Errorf("pod %q cannot be found - no logs available", name)
	}
	c, ok := m.containerState(pod, container)
	switch {
	case !ok:
		return "", "", fmt.Errorf("container %q in pod %q is not available", container, name)
	case previous:
		return "", "", fmt.Errorf("previous terminated container %q in pod %q not found", container, name)
	case c.ContainerID == "" && c.Terminated != nil:
		return "", "", fmt.Errorf("container %q in pod %q is terminated", container, name)
	case c.ContainerID == "" && c.Waiting != nil:
		switch c.Waiting.Reason {
		case "ErrImagePull":
			return "", "", fmt.Errorf("container %q in pod %q is waiting to start: image can't be pulled", container, name)
		case "ImagePullBackOff":
			return "", "", fmt.Errorf("container %q in pod %q is waiting to start: trying and failing to pull image", container, name)
		}
		return "", "", fmt.Errorf("container %q in pod %q is waiting to start: %s", container, name, c.Waiting.Reason)
	case c.ContainerID == "":
		return "", "", fmt.Errorf("container %q in pod %q is waiting to start - no logs yet", container, name)
	}
	return newLayout(m.cfg.StateDir, pod).log(container), containerID(pod.UID, container), nil
}

// ContainerRunning reports whether the container with this ID runs now.
func (m *Manager) ContainerRunning(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.workers {
		w.mu.Lock()
		for _, c := range w.containers {
			if c.id == id && c.running.Load() {
				w.mu.Unlock()
				return true
			}
		}
		w.mu.Unlock()
	}
	return false
}

// ExecTarget returns how to enter a running container: its sandbox and the
// user, working directory and environment it runs with. uid, when not
// empty, must be the pod's. A container that is not running is "not found",
// as on a kubelet.
func (m *Manager) ExecTarget(namespace, name string, uid types.UID, container string) (sandbox.ExecOptions, error) {
	pod, err := m.managedPod(namespace, name)
	if err != nil || (uid != "" && uid != pod.UID) {
		return sandbox.ExecOptions{}, ErrPodNotFound
	}
	notFound := fmt.Errorf("container not found (%q)", container)
	w := m.worker(namespace, name)
	if w == nil || w.uid != pod.UID {
		return sandbox.ExecOptions{}, notFound
	}
	w.mu.Lock()
	c := w.containers[container]
	w.mu.Unlock()
	if c == nil || !c.running.Load() {
		return sandbox.ExecOptions{}, notFound
	}
	return sandbox.ExecOptions{
		Nsenter: m.cfg.Nsenter, InitPID: c.proc.InitPID,
		UID: c.cfg.spec.UID, GID: c.cfg.spec.GID, Groups: c.cfg.spec.Groups, MapIDs: c.cfg.spec.MapIDs, WorkingDir: c.cfg.spec.WorkingDir, Env: slices.Clone(c.cfg.env),
		Bwrap: m.cfg.Bwrap, BwrapArgs: c.cfg.bwrapArgs,
	}, nil
}
