package podstatus

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	t0 = time.Date(2026, 11, 21, 19, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

func waiting(name, reason string) Container {
	return Container{Name: name, Image: "busybox", Waiting: &Waiting{Reason: reason}}
}

func running(name string) Container {
	return Container{Name: name, Image: "docker.io/library/busybox:latest", ContainerID: "lab://" + name, StartedAt: t0}
}

func exited(name string, code int32) Container {
	return Container{Name: name, ContainerID: "lab://" + name, StartedAt: t0,
		Terminated: &Terminated{ExitCode: code, Reason: TerminatedReason(int(code), false), StartedAt: t0, FinishedAt: t1}}
}

func TestPhase(t *testing.T) {
	tests := []struct {
		name  string
		input Pod
		want  corev1.PodPhase
	}{
		{name: "nothing started", input: Pod{Containers: []Container{waiting("a", ReasonContainerCreating)}}, want: corev1.PodPending},
		{name: "init running", input: Pod{Init: []Container{running("i")}, Containers: []Container{waiting("a", ReasonPodInitializing)}}, want: corev1.PodPending},
		{name: "init failed", input: Pod{Init: []Container{exited("i", 2)}, Containers: []Container{waiting("a", ReasonPodInitializing)}}, want: corev1.PodFailed},
		{name: "one running", input: Pod{Init: []Container{exited("i", 0)}, Containers: []Container{running("a"), exited("b", 0)}}, want: corev1.PodRunning},
		{name: "one waiting on image keeps pending", input: Pod{Containers: []Container{running("a"), waiting("b", "ImagePullBackOff")}}, want: corev1.PodPending},
		{name: "all succeeded", input: Pod{Containers: []Container{exited("a", 0), exited("b", 0)}}, want: corev1.PodSucceeded},
		{name: "one failed", input: Pod{Containers: []Container{exited("a", 0), exited("b", 3)}}, want: corev1.PodFailed},
		{name: "deadline", input: Pod{Reason: ReasonDeadlineExceeded, Containers: []Container{running("a")}}, want: corev1.PodFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Phase(tc.input); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	scheduled := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Generation: 1},
		Status: corev1.PodStatus{
			QOSClass: corev1.PodQOSBestEffort,
			Conditions: []corev1.PodCondition{
				scheduled,
				{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
				{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(t0)},
			},
		},
	}
	type cond struct {
		status  corev1.ConditionStatus
		reason  string
		message string
		changed bool
	}
	tests := []struct {
		name       string
		input      Pod
		wantPhase  corev1.PodPhase
		wantConds  map[corev1.PodConditionType]cond
		wantStates []string
	}{
		{
			name:      "running",
			input:     Pod{StartTime: t0, HostIP: "127.0.0.1", SandboxReady: true, Containers: []Container{running("main")}},
			wantPhase: corev1.PodRunning,
			wantConds: map[corev1.PodConditionType]cond{
				corev1.PodReadyToStartContainers: {status: corev1.ConditionTrue, changed: true},
				corev1.PodInitialized:            {status: corev1.ConditionTrue},
				corev1.ContainersReady:           {status: corev1.ConditionTrue, changed: true},
				corev1.PodReady:                  {status: corev1.ConditionTrue, changed: true},
			},
			wantStates: []string{"running"},
		},
		{
			name:      "init pending",
			input:     Pod{StartTime: t0, HostIP: "127.0.0.1", SandboxReady: true, Init: []Container{running("fetch")}, Containers: []Container{waiting("main", ReasonPodInitializing)}},
			wantPhase: corev1.PodPending,
			wantConds: map[corev1.PodConditionType]cond{
				corev1.PodReadyToStartContainers: {status: corev1.ConditionTrue, changed: true},
				corev1.PodInitialized:            {status: corev1.ConditionFalse, reason: "ContainersNotInitialized", message: "containers with incomplete status: [fetch]", changed: true},
				corev1.ContainersReady:           {status: corev1.ConditionFalse, reason: "ContainersNotReady", message: "containers with unready status: [main]"},
				corev1.PodReady:                  {status: corev1.ConditionFalse, reason: "ContainersNotReady", message: "containers with unready status: [main]", changed: true},
			},
			wantStates: []string{"waiting"},
		},
		{
			name:      "succeeded",
			input:     Pod{StartTime: t0, HostIP: "127.0.0.1", Containers: []Container{exited("main", 0)}},
			wantPhase: corev1.PodSucceeded,
			wantConds: map[corev1.PodConditionType]cond{
				corev1.PodReadyToStartContainers: {status: corev1.ConditionFalse, changed: true},
				corev1.PodInitialized:            {status: corev1.ConditionTrue},
				corev1.ContainersReady:           {status: corev1.ConditionFalse, reason: ReasonPodCompleted},
				corev1.PodReady:                  {status: corev1.ConditionFalse, reason: ReasonPodCompleted, changed: true},
			},
			wantStates: []string{"terminated"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Build(pod, tc.input, t1)
			if got.Phase != tc.wantPhase {
				t.Errorf("phase %s, want %s", got.Phase, tc.wantPhase)
			}
			if got.QOSClass != corev1.PodQOSBestEffort {
				t.Errorf("qosClass not kept: %q", got.QOSClass)
			}
			if got.PodIP != "127.0.0.1" || got.HostIP != "127.0.0.1" || len(got.PodIPs) != 1 || got.StartTime == nil || !got.StartTime.Time.Equal(t0) {
				t.Errorf("addresses or start time wrong: %+v", got)
			}
			wantOrder := []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled}
			if len(got.Conditions) != len(wantOrder) {
				t.Fatalf("conditions %+v", got.Conditions)
			}
			for i, c := range got.Conditions {
				if c.Type != wantOrder[i] {
					t.Errorf("condition %d is %s, want %s", i, c.Type, wantOrder[i])
				}
				if c.Type == corev1.PodScheduled {
					if c != scheduled {
						t.Errorf("PodScheduled changed: %+v", c)
					}
					continue
				}
				w := tc.wantConds[c.Type]
				if c.Status != w.status || c.Reason != w.reason || c.Message != w.message || c.ObservedGeneration != 1 {
					t.Errorf("%s = %+v, want %+v", c.Type, c, w)
				}
				wantTime := t0
				if w.changed {
					wantTime = t1
				}
				if !c.LastTransitionTime.Time.Equal(wantTime) {
					t.Errorf("%s lastTransitionTime %v, want %v", c.Type, c.LastTransitionTime, wantTime)
				}
			}
			for i, s := range got.ContainerStatuses {
				state := map[bool]string{true: "waiting"}[s.State.Waiting != nil] + map[bool]string{true: "running"}[s.State.Running != nil] + map[bool]string{true: "terminated"}[s.State.Terminated != nil]
				if state != tc.wantStates[i] {
					t.Errorf("container %s state %q, want %q", s.Name, state, tc.wantStates[i])
				}
				if s.Ready != (state == "running") || s.Started == nil || *s.Started != (state == "running") {
					t.Errorf("container %s ready/started wrong: %+v", s.Name, s)
				}
			}
		})
	}
}
