package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kbuild.dev/lab/runtime/internal/envvars"
)

// prepare creates the pod's directories and volumes, retrying volume
// failures (FailedMount events) until they succeed or the pod is killed.
// emptyDir volumes are directories; secret, configMap, downwardAPI and
// projected volumes (service account tokens included) are written once as
// read-only files; hostPath volumes are bound from the host. Other types
// never mount, as on a node without their driver.
func (w *podWorker) prepare(pod *corev1.Pod) bool {
	var emptyDirs, names []string
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil {
			emptyDirs = append(emptyDirs, v.Name)
		}
	}
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		names = append(names, c.Name)
	}
	if err := w.layout.create(emptyDirs, names, w.m.cfg.MapIDs, fsGroup(pod)); err != nil {
		w.m.events.event(w.nodeName, podRef(pod), corev1.EventTypeWarning, "FailedCreatePodSandBox", err.Error())
		return false
	}
	w.mu.Lock()
	w.st.SandboxReady = true
	w.mu.Unlock()
	w.markDirty()
	for _, v := range pod.Spec.Volumes {
		for {
			err := w.materialize(pod, v)
			if err == nil {
				break
			}
			w.m.events.event(w.nodeName, podRef(pod), corev1.EventTypeWarning, "FailedMount",
				fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", v.Name, err))
			if !sleepCtx(w.ctx, configRetry) {
				return false
			}
		}
	}
	return w.ctx.Err() == nil
}

// volumePath returns where volume name's content is on the host and
// whether it is read-only; ok is false for a volume the pod does not have.
func (w *podWorker) volumePath(pod *corev1.Pod, name string) (path string, readOnly, ok bool) {
	for _, v := range pod.Spec.Volumes {
		if v.Name != name {
			continue
		}
		switch {
		case v.EmptyDir != nil:
			return w.layout.volume(name), false, true
		case v.HostPath != nil:
			return v.HostPath.Path, false, true
		default:
			return w.layout.volume(name), true, true
		}
	}
	return "", false, false
}

// materialize writes the files of a secret, configMap, downwardAPI or
// projected volume into its directory.
func (w *podWorker) materialize(pod *corev1.Pod, v corev1.Volume) error {
	files := map[string][]byte{}
	var err error
	switch {
	case v.EmptyDir != nil, v.HostPath != nil:
		return nil
	case v.Secret != nil:
		err = w.secretFiles(pod.Namespace, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, files)
	case v.ConfigMap != nil:
		err = w.configMapFiles(pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, files)
	case v.DownwardAPI != nil:
		err = downwardFiles(pod, w.hostIP, v.DownwardAPI.Items, files)
	case v.Projected != nil:
		for _, s := range v.Projected.Sources {
			switch {
			case s.Secret != nil:
				err = w.secretFiles(pod.Namespace, s.Secret.Name, s.Secret.Items, s.Secret.Optional, files)
			case s.ConfigMap != nil:
				err = w.configMapFiles(pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, files)
			case s.DownwardAPI != nil:
				err = downwardFiles(pod, w.hostIP, s.DownwardAPI.Items, files)
			case s.ServiceAccountToken != nil:
				err = w.tokenFile(w.ctx, pod, s.ServiceAccountToken, files)
			}
			if err != nil {
				break
			}
		}
	default:
		return fmt.Errorf("volume type not supported by the lab runtime (emptyDir, hostPath, secret, configMap, downwardAPI and projected are)")
	}
	if err != nil {
		return err
	}
	dir := w.layout.volume(v.Name)
	for name, data := range files {
		p := filepath.Join(dir, filepath.Clean("/"+name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return os.MkdirAll(dir, 0o755)
}

// pick selects data's keys as files: all keys, or the listed items.
func pick(kind, ns, name string, data map[string][]byte, items []corev1.KeyToPath, optional bool, files map[string][]byte) error {
	if len(items) == 0 {
		for k, d := range data {
			files[k] = d
		}
		return nil
	}
	for _, it := range items {
		d, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return fmt.Errorf("configuration error: key %s of %s %s/%s not found", it.Key, kind, ns, name)
		}
		files[it.Path] = d
	}
	return nil
}

func (w *podWorker) secretFiles(ns, name string, items []corev1.KeyToPath, optional *bool, files map[string][]byte) error {
	s, err := apiSources{w.m.cfg.Client}.Secret(w.ctx, ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) && isSet(optional) {
			return nil
		}
		return err
	}
	return pick("Secret", ns, name, s.Data, items, isSet(optional), files)
}

func (w *podWorker) configMapFiles(ns, name string, items []corev1.KeyToPath, optional *bool, files map[string][]byte) error {
	cm, err := apiSources{w.m.cfg.Client}.ConfigMap(w.ctx, ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) && isSet(optional) {
			return nil
		}
		return err
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return pick("ConfigMap", ns, name, data, items, isSet(optional), files)
}

func downwardFiles(pod *corev1.Pod, hostIP string, items []corev1.DownwardAPIVolumeFile, files map[string][]byte) error {
	for _, it := range items {
		if it.FieldRef == nil {
			return fmt.Errorf("downwardAPI item %q: only fieldRef is supported by the lab runtime", it.Path)
		}
		v, err := envvars.FieldValue(pod, it.FieldRef.FieldPath, hostIP)
		if err != nil {
			return err
		}
		files[it.Path] = []byte(v)
	}
	return nil
}

// tokenFile requests a service account token bound to the pod (TokenRequest
// API, as the kubelet does for projected serviceAccountToken sources).
func (w *podWorker) tokenFile(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection, files map[string][]byte) error {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	tr, err := w.m.cfg.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("failed to fetch token: %w", err)
	}
	files[strings.TrimPrefix(src.Path, "/")] = []byte(tr.Status.Token)
	return nil
}

func isSet(b *bool) bool { return b != nil && *b }
