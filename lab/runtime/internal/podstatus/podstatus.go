// Package podstatus turns the runtime's view of a pod into the PodStatus a
// kubelet writes: phase, conditions and container statuses. The rules follow
// the kubelet (pkg/kubelet/kubelet_pods.go getPhase, generateAPIPodStatus;
// pkg/kubelet/status/generate.go) for pods whose containers are never
// restarted.
package podstatus

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Kubelet reasons used in pod and container statuses.
const (
	ReasonPodInitializing   = "PodInitializing"
	ReasonContainerCreating = "ContainerCreating"
	ReasonCompleted         = "Completed"
	ReasonError             = "Error"
	ReasonOOMKilled         = "OOMKilled"
	ReasonDeadlineExceeded  = "DeadlineExceeded"
	ReasonStartError        = "StartError"
	ReasonStatusUnknown     = "ContainerStatusUnknown"
	ReasonPodCompleted      = "PodCompleted"
)

// Container is the runtime's state of one container. Exactly one of
// Waiting, Running (StartedAt set and Terminated nil) and Terminated holds.
type Container struct {
	Name string
	// Image is what the runtime reports (the spec's image while waiting);
	// ImageID and ContainerID are empty until the container is created.
	Image, ImageID, ContainerID string
	Waiting                     *Waiting
	StartedAt                   time.Time
	Terminated                  *Terminated
}

// Waiting is why a container has not started.
type Waiting struct {
	Reason, Message string
}

// Terminated is how a container ended.
type Terminated struct {
	ExitCode              int32
	Reason, Message       string
	StartedAt, FinishedAt time.Time
}

// Running reports whether the container has started and not ended.
func (c Container) Running() bool {
	return c.Terminated == nil && c.Waiting == nil && !c.StartedAt.IsZero()
}

// Pod is the runtime's state of a pod.
type Pod struct {
	StartTime time.Time
	HostIP    string
	// SandboxReady: the pod's directories exist and no container was torn
	// down (PodReadyToStartContainers).
	SandboxReady bool
	Init         []Container
	Containers   []Container
	// Reason and Message are the pod-level failure (DeadlineExceeded).
	Reason, Message string
}

// Phase returns the pod's phase for restartPolicy Never: Failed after a
// pod-level failure or a failed init container; Pending while an init
// container has not succeeded or a container has not started; Running while
// one runs; then Succeeded if all exited 0, else Failed.
func Phase(p Pod) corev1.PodPhase {
	if p.Reason != "" {
		return corev1.PodFailed
	}
	for _, c := range p.Init {
		switch {
		case c.Terminated != nil && c.Terminated.ExitCode != 0:
			return corev1.PodFailed
		case c.Terminated == nil:
			return corev1.PodPending
		}
	}
	var waiting, running, failed int
	for _, c := range p.Containers {
		switch {
		case c.Terminated != nil:
			if c.Terminated.ExitCode != 0 {
				failed++
			}
		case c.Running():
			running++
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case failed > 0:
		return corev1.PodFailed
	}
	return corev1.PodSucceeded
}

// Build returns pod's status with the fields a kubelet owns replaced from st
// at time now: phase, reason, message, hostIP(s), podIP(s), startTime,
// conditions PodReadyToStartContainers, Initialized, ContainersReady and
// Ready (other conditions, such as PodScheduled, are kept; lastTransitionTime
// is kept while a condition's status does not change), init and container
// statuses, observedGeneration. Fields it does not own (qosClass, ...) are
// kept.
func Build(pod *corev1.Pod, st Pod, now time.Time) corev1.PodStatus {
	out := *pod.Status.DeepCopy()
	phase := Phase(st)
	out.Phase = phase
	out.Reason, out.Message = st.Reason, st.Message
	out.ObservedGeneration = pod.Generation
	if st.HostIP != "" {
		out.HostIP, out.HostIPs = st.HostIP, []corev1.HostIP{{IP: st.HostIP}}
		out.PodIP, out.PodIPs = st.HostIP, []corev1.PodIP{{IP: st.HostIP}}
	}
	if !st.StartTime.IsZero() {
		t := metav1.NewTime(st.StartTime)
		out.StartTime = &t
	}
	out.InitContainerStatuses = containerStatuses(st.Init)
	out.ContainerStatuses = containerStatuses(st.Containers)
	out.Conditions = conditions(pod, st, phase, now)
	return out
}

// conditions returns the kubelet-owned conditions, in the kubelet's order,
// followed by the others already on the pod.
func conditions(pod *corev1.Pod, st Pod, phase corev1.PodPhase, now time.Time) []corev1.PodCondition {
	owned := []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: boolStatus(st.SandboxReady)},
		initialized(st),
	}
	ready := containersReady(st, phase)
	podReady := ready
	podReady.Type = corev1.PodReady
	owned = append(owned, podReady, ready)

	byType := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range pod.Status.Conditions {
		byType[c.Type] = c
	}
	out := make([]corev1.PodCondition, 0, len(owned)+len(pod.Status.Conditions))
	isOwned := map[corev1.PodConditionType]bool{}
	for _, c := range owned {
		isOwned[c.Type] = true
		c.ObservedGeneration = pod.Generation
		c.LastTransitionTime = metav1.NewTime(now)
		if old, ok := byType[c.Type]; ok && old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		out = append(out, c)
	}
	for _, c := range pod.Status.Conditions {
		if !isOwned[c.Type] {
			out = append(out, c)
		}
	}
	return out
}

func initialized(st Pod) corev1.PodCondition {
	var incomplete []string
	for _, c := range st.Init {
		if c.Terminated == nil || c.Terminated.ExitCode != 0 {
			incomplete = append(incomplete, c.Name)
		}
	}
	if len(incomplete) == 0 {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	}
	return corev1.PodCondition{
		Type: corev1.PodInitialized, Status: corev1.ConditionFalse, Reason: "ContainersNotInitialized",
		Message: fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " ")),
	}
}

func containersReady(st Pod, phase corev1.PodPhase) corev1.PodCondition {
	if phase == corev1.PodSucceeded {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: ReasonPodCompleted}
	}
	var unready []string
	for _, c := range st.Containers {
		if !c.Running() {
			unready = append(unready, c.Name)
		}
	}
	if len(unready) == 0 {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
	}
	return corev1.PodCondition{
		Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady",
		Message: fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " ")),
	}
}

func containerStatuses(cs []Container) []corev1.ContainerStatus {
	if len(cs) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		running := c.Running()
		s := corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.ImageID, ContainerID: c.ContainerID,
			Ready: running, Started: &running,
		}
		switch {
		case c.Terminated != nil:
			t := c.Terminated
			s.State.Terminated = &corev1.ContainerStateTerminated{
				ExitCode: t.ExitCode, Reason: t.Reason, Message: t.Message, ContainerID: c.ContainerID,
				StartedAt: metav1.NewTime(t.StartedAt), FinishedAt: metav1.NewTime(t.FinishedAt),
			}
		case running:
			s.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.StartedAt)}
		default:
			w := Waiting{Reason: ReasonContainerCreating}
			if c.Waiting != nil {
				w = *c.Waiting
			}
			s.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
		}
		out = append(out, s)
	}
	return out
}

func boolStatus(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

// TerminatedReason is the kubelet's reason for a container that exited with
// code: Completed for 0, Error otherwise, unless oomKilled.
func TerminatedReason(code int, oomKilled bool) string {
	switch {
	case oomKilled:
		return ReasonOOMKilled
	case code == 0:
		return ReasonCompleted
	}
	return ReasonError
}
