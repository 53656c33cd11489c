package envvars

import (
	"context"
	"reflect"
	"regexp"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type fakeSources struct {
	secrets    map[string]map[string][]byte
	configMaps map[string]map[string]string
}

func (f fakeSources) Secret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	d, ok := f.secrets[ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
	}
	return &corev1.Secret{Data: d}, nil
}

func (f fakeSources) ConfigMap(_ context.Context, ns, name string) (*corev1.ConfigMap, error) {
	d, ok := f.configMaps[ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
	}
	return &corev1.ConfigMap{Data: d}, nil
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	tests := []struct{ name, input, want string }{
		{name: "plain", input: "abc", want: "abc"},
		{name: "defined", input: "x$(A)y$(B)", want: "x1ytwo"},
		{name: "undefined stays", input: "$(C)", want: "$(C)"},
		{name: "escaped", input: "$$(A) $$", want: "$(A) $"},
		{name: "lone dollar", input: "$A $", want: "$A $"},
		{name: "unterminated", input: "$(A", want: "$(A"},
		{name: "empty name", input: "$()", want: "$()"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Expand(tc.input, lookup); got != tc.want {
				t.Errorf("Expand(%q) = %q, want %q", tc.input, got, tc.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	yes := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u-1", Labels: map[string]string{"app": "kb"}},
		Spec:       corev1.PodSpec{NodeName: "node-a", ServiceAccountName: "builder"},
	}
	src := fakeSources{
		secrets:    map[string]map[string][]byte{"ns/s": {"token": []byte("t0k")}},
		configMaps: map[string]map[string]string{"ns/cm": {"B": "from-cm", "A": "a", "bad-name": "x"}},
	}
	tests := []struct {
		name      string
		container corev1.Container
		want      []Var
		wantErr   *regexp.Regexp
	}{
		{
			name: "values and expansion",
			container: corev1.Container{Env: []corev1.EnvVar{
				{Name: "X", Value: "1"}, {Name: "Y", Value: "$(X)-$(Z)"}, {Name: "X", Value: "2"},
			}},
			want: []Var{{"X", "2"}, {"Y", "1-$(Z)"}},
		},
		{
			name: "secret, config map and fields",
			container: corev1.Container{Env: []corev1.EnvVar{
				{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "token"}}},
				{Name: "B", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "B"}}},
				{Name: "NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
				{Name: "UID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}}},
				{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
				{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
				{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			}},
			want: []Var{{"TOKEN", "t0k"}, {"B", "from-cm"}, {"NAME", "p"}, {"NS", "ns"}, {"UID", "u-1"}, {"NODE", "node-a"}, {"APP", "kb"}, {"IP", "127.0.0.1"}},
		},
		{
			name: "envFrom with prefix, env overrides",
			container: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
				Env:     []corev1.EnvVar{{Name: "CM_A", Value: "override"}},
			},
			want: []Var{{"CM_A", "override"}, {"CM_B", "from-cm"}, {"CM_bad-name", "x"}},
		},
		{
			name: "optional missing references are skipped",
			container: corev1.Container{Env: []corev1.EnvVar{
				{Name: "S", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "k", Optional: &yes}}},
				{Name: "K", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "nokey", Optional: &yes}}},
			}},
			want: []Var{},
		},
		{
			name: "resource limit with divisor",
			container: corev1.Container{
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1536Mi"), corev1.ResourceCPU: resource.MustParse("1500m")}},
				Env: []corev1.EnvVar{
					{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Gi")}}},
					{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
				},
			},
			want: []Var{{"MEM", "2"}, {"CPU", "2"}},
		},
		{
			name: "missing secret",
			container: corev1.Container{Env: []corev1.EnvVar{
				{Name: "S", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "k"}}},
			}},
			wantErr: regexp.MustCompile(`^secrets "nope" not found$`),
		},
		{
			name: "missing key",
			container: corev1.Container{Env: []corev1.EnvVar{
				{Name: "C", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "zz"}}},
			}},
			wantErr: regexp.MustCompile(`^couldn't find key zz in ConfigMap ns/cm$`),
		},
		{
			name: "unsupported field",
			container: corev1.Container{Env: []corev1.EnvVar{
				{Name: "F", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.hostname"}}},
			}},
			wantErr: regexp.MustCompile(`unsupported fieldPath "spec.hostname"`),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(context.Background(), pod, &tc.container, "127.0.0.1", src)
			if tc.wantErr != nil {
				if err == nil || !tc.wantErr.MatchString(err.Error()) {
					t.Fatalf("error %v, want one matching %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExpandAll(t *testing.T) {
	got := ExpandAll([]string{"echo", "$(NAME)", "$$(NAME)"}, []Var{{"NAME", "old"}, {"NAME", "new"}})
	want := []string{"echo", "new", "$(NAME)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
