package envvars

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Sources looks up the Secrets and ConfigMaps that env and envFrom refer to.
// A missing object is reported with an error for which apierrors.IsNotFound
// is true.
type Sources interface {
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
}

// Var is one environment variable.
type Var struct {
	Name, Value string
}

// env is an insertion-ordered set of variables: setting a name again keeps
// its first position, so the result is deterministic.
type env struct {
	vars  []Var
	index map[string]int
}

func (e *env) set(name, value string) {
	if i, ok := e.index[name]; ok {
		e.vars[i].Value = value
		return
	}
	e.index[name] = len(e.vars)
	e.vars = append(e.vars, Var{Name: name, Value: value})
}

func (e *env) lookup(name string) (string, bool) {
	i, ok := e.index[name]
	if !ok {
		return "", false
	}
	return e.vars[i].Value, true
}

// Resolve returns the environment the kubelet would give container c of pod:
// the metadata server's variables when set (SetMetadataHost), then envFrom
// sources in order (keys with their prefix, not validated, as in
// Kubernetes 1.36), then env entries, each value expanded against
// the variables defined before it. valueFrom supports secretKeyRef,
// configMapKeyRef (honouring optional), fieldRef (see FieldValue) and
// resourceFieldRef of the container's own requests and limits. hostIP is the
// node's address, also used as the pod IP.
//
// Errors use the kubelet's wording (`secret "s" not found`, `couldn't find key
// k in Secret ns/s`); the runtime reports them as CreateContainerConfigError.
func Resolve(ctx context.Context, pod *corev1.Pod, c *corev1.Container, hostIP string, src Sources) ([]Var, error) {
	e := &env{index: map[string]int{}}
	injected(e)
	for _, from := range c.EnvFrom {
		data, err := envFromData(ctx, pod.Namespace, from, src)
		if err != nil {
			return nil, err
		}
		for _, kv := range data {
			e.set(from.Prefix+kv.Name, kv.Value)
		}
	}
	for _, v := range c.Env {
		if v.ValueFrom == nil {
			e.set(v.Name, Expand(v.Value, e.lookup))
			continue
		}
		value, ok, err := valueFrom(ctx, pod, c, hostIP, v.ValueFrom, src)
		if err != nil {
			return nil, err
		}
		if ok {
			e.set(v.Name, value)
		}
	}
	return e.vars, nil
}

// ExpandAll expands $(VAR) references in each of args against vars, as the
// kubelet does for a container's command and args.
func ExpandAll(args []string, vars []Var) []string {
	lookup := func(name string) (string, bool) {
		for i := len(vars) - 1; i >= 0; i-- {
			if vars[i].Name == name {
				return vars[i].Value, true
			}
		}
		return "", false
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = Expand(a, lookup)
	}
	return out
}

// envFromData returns the key/value pairs of one envFrom source, sorted by key
// like the kubelet (which ranges over the object's data map; sorting makes
// the lab deterministic). A missing optional source yields nothing.
func envFromData(ctx context.Context, ns string, from corev1.EnvFromSource, src Sources) ([]Var, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := src.ConfigMap(ctx, ns, from.ConfigMapRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(from.ConfigMapRef.Optional) {
				return nil, nil
			}
			return nil, err
		}
		vars := make([]Var, 0, len(cm.Data))
		for k, v := range cm.Data {
			vars = append(vars, Var{Name: k, Value: v})
		}
		return sortVars(vars), nil
	case from.SecretRef != nil:
		s, err := src.Secret(ctx, ns, from.SecretRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(from.SecretRef.Optional) {
				return nil, nil
			}
			return nil, err
		}
		vars := make([]Var, 0, len(s.Data))
		for k, v := range s.Data {
			vars = append(vars, Var{Name: k, Value: string(v)})
		}
		return sortVars(vars), nil
	}
	return nil, nil
}

func sortVars(vars []Var) []Var {
	slices.SortFunc(vars, func(a, b Var) int { return strings.Compare(a.Name, b.Name) })
	return vars
}

// valueFrom resolves one valueFrom; ok is false when an optional reference is
// missing (the variable is then not set).
func valueFrom(ctx context.Context, pod *corev1.Pod, c *corev1.Container, hostIP string, from *corev1.EnvVarSource, src Sources) (string, bool, error) {
	switch {
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		return keyValue("Secret", pod.Namespace, ref.Name, ref.Key, isTrue(ref.Optional), func() (map[string]string, error) {
			s, err := src.Secret(ctx, pod.Namespace, ref.Name)
			if err != nil {
				return nil, err
			}
			data := make(map[string]string, len(s.Data))
			for k, v := range s.Data {
				data[k] = string(v)
			}
			return data, nil
		})
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		return keyValue("ConfigMap", pod.Namespace, ref.Name, ref.Key, isTrue(ref.Optional), func() (map[string]string, error) {
			cm, err := src.ConfigMap(ctx, pod.Namespace, ref.Name)
			if err != nil {
				return nil, err
			}
			return cm.Data, nil
		})
	case from.FieldRef != nil:
		v, err := FieldValue(pod, from.FieldRef.FieldPath, hostIP)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		v, err := resourceValue(c, from.ResourceFieldRef)
		return v, err == nil, err
	}
	return "", false, fmt.Errorf("env valueFrom has no source")
}

// keyValue returns key of the object read by get; a missing object or key
// is skipped (ok false) when optional.
func keyValue(kind, ns, name, key string, optional bool, get func() (map[string]string, error)) (string, bool, error) {
	data, err := get()
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return "", false, nil
		}
		return "", false, err
	}
	v, ok := data[key]
	if !ok {
		if optional {
			return "", false, nil
		}
		return "", false, fmt.Errorf("couldn't find key %s in %s %s/%s", key, kind, ns, name)
	}
	return v, true, nil
}

// FieldValue returns the value of a downward-API fieldPath for pod:
// metadata.name, metadata.namespace, metadata.uid,
// metadata.labels['k'], metadata.annotations['k'], spec.nodeName,
// spec.serviceAccountName, status.hostIP(s) and status.podIP(s) (both hostIP).
func FieldValue(pod *corev1.Pod, path, hostIP string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs":
		return hostIP, nil
	}
	for prefix, m := range map[string]map[string]string{
		"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations,
	} {
		if key, ok := strings.CutPrefix(path, prefix+"['"); ok && strings.HasSuffix(key, "']") {
			return m[strings.TrimSuffix(key, "']")], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldPath %q", path)
}

// resourceValue returns a container's request or limit divided by the
// divisor and rounded up, like the kubelet's ExtractContainerResourceValue.
func resourceValue(c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	kind, name, ok := strings.Cut(ref.Resource, ".")
	var list corev1.ResourceList
	switch {
	case ok && kind == "limits":
		list = c.Resources.Limits
	case ok && kind == "requests":
		list = c.Resources.Requests
	default:
		return "", fmt.Errorf("unsupported container resource %q", ref.Resource)
	}
	q, set := list[corev1.ResourceName(name)]
	if !set {
		return "", fmt.Errorf("container resource %q is not set (the lab runtime has no node allocatable to default to)", ref.Resource)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == string(corev1.ResourceCPU) {
		return fmt.Sprint(int64(math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue())))), nil
	}
	return fmt.Sprint(int64(math.Ceil(float64(q.Value()) / float64(divisor.Value())))), nil
}

func isTrue(b *bool) bool { return b != nil && *b }
