package envvars

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestSetMetadataHost(t *testing.T) {
	for _, bad := range []string{"127.0.0.1", "metadata.google.internal:80", "127.0.0.1:0", "127.0.0.1:x", "127.0.0.1:80/pod"} {
		if err := SetMetadataHost(bad); err == nil {
			t.Errorf("SetMetadataHost(%q) = nil, want an error", bad)
		}
	}
	t.Cleanup(func() { _ = SetMetadataHost("") })
	if err := SetMetadataHost("127.0.0.1:16416"); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{}
	c := &corev1.Container{Env: []corev1.EnvVar{
		{Name: "A", Value: "$(GCE_METADATA_HOST)"},
		{Name: "GCE_METADATA_IP", Value: "10.0.0.1:80"},
	}}
	got, err := Resolve(context.Background(), pod, c, "127.0.0.1", fakeSources{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Var{
		{Name: "GCE_METADATA_HOST", Value: "127.0.0.1:16416"},
		{Name: "GCE_METADATA_ROOT", Value: "127.0.0.1:16416"},
		{Name: "GCE_METADATA_IP", Value: "10.0.0.1:80"},
		{Name: "A", Value: "127.0.0.1:16416"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve = %v, want %v (the container's own value wins, in the runtime's position)", got, want)
	}
	if err := SetMetadataHost(""); err != nil {
		t.Fatal(err)
	}
	got, _ = Resolve(context.Background(), pod, &corev1.Container{}, "127.0.0.1", fakeSources{})
	if len(got) != 0 {
		t.Errorf("Resolve without a metadata host = %v, want nothing", got)
	}
}
