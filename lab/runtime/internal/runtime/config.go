package runtime

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"kbuild.dev/lab/runtime/internal/envvars"
	"kbuild.dev/lab/runtime/internal/imageref"
	"kbuild.dev/lab/runtime/internal/sandbox"
)

// DefaultUser is the UID and GID of a container without runAsUser and
// runAsGroup (distroless's "nonroot").
const DefaultUser = 65532

// defaultPath is the PATH of a container whose env does not set one.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// containerConfig is everything needed to start (and exec into) a container.
type containerConfig struct {
	argv        []string
	env         []string
	spec        sandbox.Spec
	bwrapArgs   []string
	memoryLimit int64 // bytes, 0 for none
}

// startError is a failure the runtime reports as the container's
// termination (StartError, exit code 128) rather than a retried wait.
type startError struct{ msg string }

func (e *startError) Error() string { return e.msg }

// runcFailure words a start failure like containerd and runc do.
func runcFailure(err error) *startError {
	return &startError{msg: "failed to create containerd task: failed to create shim task: OCI runtime create failed: " +
		"runc create failed: unable to start container process: error during container init: " + err.Error() + ": unknown"}
}

// apiSources reads Secrets and ConfigMaps from the API server. A missing
// object is reported like the kubelet's object cache does (`secret "x" not
// found`, singular).
type apiSources struct{ client kubernetes.Interface }

func (s apiSources) Secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	obj, err := s.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	return obj, kubeletNotFound(err, "secret", name)
}

func (s apiSources) ConfigMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	obj, err := s.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	return obj, kubeletNotFound(err, "configmap", name)
}

func kubeletNotFound(err error, resource, name string) error {
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
	}
	return err
}

// configure resolves c's environment, user, command and sandbox. An error
// is a CreateContainerConfigError to retry, a *startError a failed start.
func (w *podWorker) configure(pod *corev1.Pod, c *corev1.Container, img imageref.Image) (*containerConfig, error) {
	vars, err := envvars.Resolve(w.ctx, pod, c, w.hostIP, apiSources{w.m.cfg.Client})
	if err != nil {
		return nil, err
	}
	uid, gid, privileged := identity(pod, c)
	if uid == 0 && runAsNonRoot(pod, c) {
		return nil, &configError{"container has runAsNonRoot and image will run as root (pod: \"" +
			pod.Name + "_" + pod.Namespace + "(" + string(pod.UID) + ")\", container: " + c.Name + ")"}
	}
	home := "/"
	if uid == 0 {
		home = "/root"
	}
	env := []envvars.Var{{Name: "PATH", Value: defaultPath}, {Name: "HOSTNAME", Value: hostname(pod)}, {Name: "HOME", Value: home}}
	env = append(env, vars...)
	argv := envvars.ExpandAll(slices.Concat(c.Command, c.Args), vars)
	cfg := &containerConfig{argv: argv, env: environ(env)}
	if len(argv) == 0 {
		return nil, &startError{msg: "failed to generate container spec: the lab's images record no entrypoint, " +
			"so the container needs a command"}
	}
	binds, err := w.binds(pod, c, img.Rootfs != "")
	if err != nil {
		return nil, &startError{msg: err.Error()}
	}
	cfg.spec = sandbox.Spec{
		Root: img.Rootfs, MapIDs: w.m.cfg.MapIDs,
		WorkingDir: c.WorkingDir, UID: uid, GID: gid, Privileged: privileged,
		Capabilities: capabilities(c), Hostname: hostname(pod), Binds: binds, Masks: w.m.cfg.Masks,
	}
	if w.m.cfg.MapIDs {
		cfg.spec.Groups = supplementalGroups(pod)
	}
	if c.WorkingDir != "" {
		// runc creates a missing working directory; do so where it is
		// writable (BwrapArgs creates one the image lacks).
		if hp, ok := sandbox.WritablePath(cfg.spec, c.WorkingDir); ok {
			if err := os.MkdirAll(hp, 0o755); err == nil && w.m.cfg.MapIDs {
				_ = os.Chown(hp, int(uid), int(gid))
			}
		}
	}
	if err := sandbox.LookPath(cfg.spec, cfg.env, argv[0]); err != nil {
		return nil, runcFailure(err)
	}
	if err := os.WriteFile(w.layout.termination(c.Name), nil, 0o666); err != nil {
		return nil, &startError{msg: err.Error()}
	}
	if cfg.bwrapArgs, err = sandbox.BwrapArgs(cfg.spec, sandbox.OSFS{}); err != nil {
		return nil, runcFailure(err)
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		cfg.memoryLimit = q.Value()
	}
	return cfg, nil
}

// configError is a CreateContainerConfigError.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// environ turns variables into "NAME=value", later ones overriding earlier
// ones in place.
func environ(vars []envvars.Var) []string {
	index := map[string]int{}
	var out []string
	for _, v := range vars {
		if i, ok := index[v.Name]; ok {
			out[i] = v.Name + "=" + v.Value
			continue
		}
		index[v.Name] = len(out)
		out = append(out, v.Name+"="+v.Value)
	}
	return out
}

// identity returns the container's UID and GID (securityContext runAsUser
// and runAsGroup, the container's over the pod's; DefaultUser, or 0 when
// privileged, if unset) and whether it is privileged.
func identity(pod *corev1.Pod, c *corev1.Container) (uid, gid int64, privileged bool) {
	csc, psc := c.SecurityContext, pod.Spec.SecurityContext
	privileged = csc != nil && csc.Privileged != nil && *csc.Privileged
	uid, gid = DefaultUser, DefaultUser
	if privileged {
		uid, gid = 0, 0
	}
	if psc != nil && psc.RunAsUser != nil {
		uid = *psc.RunAsUser
	}
	if psc != nil && psc.RunAsGroup != nil {
		gid = *psc.RunAsGroup
	}
	if csc != nil && csc.RunAsUser != nil {
		uid = *csc.RunAsUser
	}
	if csc != nil && csc.RunAsGroup != nil {
		gid = *csc.RunAsGroup
	}
	return uid, gid, privileged
}

// supplementalGroups are the process's supplementary groups, as the kubelet
// gives them: fsGroup, then supplementalGroups.
func supplementalGroups(pod *corev1.Pod) []int64 {
	psc := pod.Spec.SecurityContext
	if psc == nil {
		return nil
	}
	var groups []int64
	if psc.FSGroup != nil {
		groups = append(groups, *psc.FSGroup)
	}
	for _, g := range psc.SupplementalGroups {
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	return groups
}

// fsGroup is the pod's fsGroup, or -1.
func fsGroup(pod *corev1.Pod) int64 {
	if psc := pod.Spec.SecurityContext; psc != nil && psc.FSGroup != nil {
		return *psc.FSGroup
	}
	return -1
}

func runAsNonRoot(pod *corev1.Pod, c *corev1.Container) bool {
	if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
		return *c.SecurityContext.RunAsNonRoot
	}
	psc := pod.Spec.SecurityContext
	return psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
}

// capabilities is the capability set of a non-privileged root container:
// containerd's defaults with securityContext.capabilities applied.
func capabilities(c *corev1.Container) []string {
	caps := slices.Clone(sandbox.DefaultCapabilities)
	if c.SecurityContext == nil || c.SecurityContext.Capabilities == nil {
		return caps
	}
	name := func(cap corev1.Capability) string {
		s := strings.ToUpper(string(cap))
		if !strings.HasPrefix(s, "CAP_") {
			s = "CAP_" + s
		}
		return s
	}
	for _, d := range c.SecurityContext.Capabilities.Drop {
		if strings.EqualFold(string(d), "ALL") {
			caps = nil
			continue
		}
		caps = slices.DeleteFunc(caps, func(s string) bool { return s == name(d) })
	}
	for _, a := range c.SecurityContext.Capabilities.Add {
		if !strings.EqualFold(string(a), "ALL") && !slices.Contains(caps, name(a)) {
			caps = append(caps, name(a))
		}
	}
	return caps
}

// hostname is the pod's hostname (spec.hostname, else its name), at most 63
// characters like the kubelet's.
func hostname(pod *corev1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// binds returns the container's mounts: the pod's /workspace, its own /tmp,
// its volumeMounts and its termination-log file; in an image also the
// pod's /etc/hosts and /etc/hostname, and the host's /etc/resolv.conf (the
// pod shares the host's network, see docs/lab.md), as the kubelet mounts
// them.
func (w *podWorker) binds(pod *corev1.Pod, c *corev1.Container, image bool) ([]sandbox.Bind, error) {
	binds := []sandbox.Bind{
		{Source: w.layout.workspace(), Dest: "/workspace"},
		{Source: w.layout.tmp(c.Name), Dest: "/tmp"},
	}
	if image {
		h := hostname(pod)
		hosts := "# Kubernetes-managed hosts file (the lab's pods share the host's network).\n" +
			"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\t" + h + "\n"
		if err := os.WriteFile(w.layout.etc("hosts"), []byte(hosts), 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(w.layout.etc("hostname"), []byte(h+"\n"), 0o644); err != nil {
			return nil, err
		}
		binds = append(binds,
			sandbox.Bind{Source: w.layout.etc("hosts"), Dest: "/etc/hosts", ReadOnly: true},
			sandbox.Bind{Source: w.layout.etc("hostname"), Dest: "/etc/hostname", ReadOnly: true})
		if _, err := os.Stat("/etc/resolv.conf"); err == nil {
			binds = append(binds, sandbox.Bind{Source: "/etc/resolv.conf", Dest: "/etc/resolv.conf", ReadOnly: true})
		}
	}
	for _, vm := range c.VolumeMounts {
		src, readOnly, ok := w.volumePath(pod, vm.Name)
		if !ok {
			continue
		}
		if vm.SubPath != "" {
			src = filepath.Join(src, vm.SubPath)
			if !readOnly {
				_ = os.MkdirAll(src, 0o755)
			}
		}
		binds = append(binds, sandbox.Bind{Source: src, Dest: filepath.Clean(vm.MountPath), ReadOnly: readOnly || vm.ReadOnly})
	}
	tpath := c.TerminationMessagePath
	if tpath == "" {
		tpath = corev1.TerminationMessagePathDefault
	}
	return append(binds, sandbox.Bind{Source: w.layout.termination(c.Name), Dest: tpath}), nil
}
