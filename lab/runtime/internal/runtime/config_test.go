package runtime

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kbuild.dev/lab/runtime/internal/envvars"
	"kbuild.dev/lab/runtime/internal/sandbox"
)

func TestIdentity(t *testing.T) {
	i64 := func(n int64) *int64 { return &n }
	yes := true
	tests := []struct {
		name       string
		pod        *corev1.PodSecurityContext
		container  *corev1.SecurityContext
		wantUID    int64
		wantGID    int64
		privileged bool
	}{
		{name: "default", wantUID: DefaultUser, wantGID: DefaultUser},
		{name: "privileged is root", container: &corev1.SecurityContext{Privileged: &yes}, wantUID: 0, wantGID: 0, privileged: true},
		{name: "pod level", pod: &corev1.PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(1001)}, wantUID: 1000, wantGID: 1001},
		{
			name: "container over pod", pod: &corev1.PodSecurityContext{RunAsUser: i64(1000)},
			container: &corev1.SecurityContext{RunAsUser: i64(0), RunAsGroup: i64(5)}, wantUID: 0, wantGID: 5,
		},
		{
			name: "privileged with a user", container: &corev1.SecurityContext{Privileged: &yes, RunAsUser: i64(7)},
			wantUID: 7, wantGID: 0, privileged: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: tc.pod}}
			uid, gid, priv := identity(pod, &corev1.Container{SecurityContext: tc.container})
			if uid != tc.wantUID || gid != tc.wantGID || priv != tc.privileged {
				t.Errorf("got %d:%d privileged %v, want %d:%d %v", uid, gid, priv, tc.wantUID, tc.wantGID, tc.privileged)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name string
		caps *corev1.Capabilities
		want []string
	}{
		{name: "defaults", want: sandbox.DefaultCapabilities},
		{name: "drop all, add one", caps: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"net_admin"}}, want: []string{"CAP_NET_ADMIN"}},
		{
			name: "drop one",
			caps: &corev1.Capabilities{Drop: []corev1.Capability{"CAP_KILL", "MKNOD"}},
			want: slices.DeleteFunc(slices.Clone(sandbox.DefaultCapabilities), func(c string) bool { return c == "CAP_KILL" || c == "CAP_MKNOD" }),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := capabilities(&corev1.Container{SecurityContext: &corev1.SecurityContext{Capabilities: tc.caps}})
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHostnameAndEnviron(t *testing.T) {
	long := strings.Repeat("a", 62) + "-b"
	tests := []struct {
		name string
		pod  corev1.Pod
		want string
	}{
		{name: "pod name", pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kb-1"}}, want: "kb-1"},
		{name: "spec hostname", pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kb-1"}, Spec: corev1.PodSpec{Hostname: "h"}}, want: "h"},
		{name: "truncated", pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: long}}, want: strings.Repeat("a", 62)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hostname(&tc.pod); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	got := environ([]envvars.Var{{Name: "PATH", Value: "/bin"}, {Name: "A", Value: "1"}, {Name: "PATH", Value: "/x"}})
	if want := []string{"PATH=/x", "A=1"}; !slices.Equal(got, want) {
		t.Errorf("environ: got %v, want %v", got, want)
	}
}
