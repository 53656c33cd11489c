package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The pod directory, state-dir/pods/<namespace>_<name>_<uid>/, holds:
//
//	workspace/                 the pod's /workspace (writable, shared by its containers)
//	volumes/<volume>/          one directory per emptyDir volume
//	tmp/<container>/           the container's /tmp
//	logs/<container>/0.log     the container's output in the CRI log format
//	termination/<container>    the container's /dev/termination-log (terminationMessagePath)
//
// Logs live under logs/ rather than directly in <container>/ as on a kubelet,
// because a container may be called "workspace" or "tmp".
type layout struct{ dir string }

// podDirName is the pod's directory name, the kubelet's /var/log/pods naming.
func podDirName(namespace, name string, uid types.UID) string {
	return fmt.Sprintf("%s_%s_%s", namespace, name, uid)
}

// uidFromDirName returns the UID at the end of a pod directory name.
func uidFromDirName(dir string) (types.UID, bool) {
	i := strings.LastIndexByte(dir, '_')
	if i < 0 || i == len(dir)-1 {
		return "", false
	}
	return types.UID(dir[i+1:]), true
}

func newLayout(stateDir string, pod *corev1.Pod) layout {
	return layout{dir: filepath.Join(stateDir, "pods", podDirName(pod.Namespace, pod.Name, pod.UID))}
}

func (l layout) workspace() string           { return filepath.Join(l.dir, "workspace") }
func (l layout) volume(name string) string   { return filepath.Join(l.dir, "volumes", name) }
func (l layout) tmp(container string) string { return filepath.Join(l.dir, "tmp", container) }
func (l layout) log(container string) string { return filepath.Join(l.dir, "logs", container, "0.log") }
func (l layout) termination(c string) string { return filepath.Join(l.dir, "termination", c) }
func (l layout) etc(name string) string      { return filepath.Join(l.dir, "etc", name) }
func (l layout) remove() error               { return os.RemoveAll(l.dir) }

// create makes the pod's directories for its emptyDir volumes and containers.
// With shared IDs (mapIDs: the sandboxes' users are host users), the
// workspace and emptyDirs are world-writable like a kubelet's emptyDir
// (0777), with fsGroup (>= 0) group-owned by it and setgid (2777, the
// kubelet's volume ownership); each /tmp is 1777 like an image's. Otherwise
// (every sandbox user maps to the runtime's own host user) 0755 suffices.
func (l layout) create(volumes, containers []string, mapIDs bool, fsGroup int64) error {
	shared := []string{l.workspace()}
	for _, v := range volumes {
		shared = append(shared, l.volume(v))
	}
	var tmps []string
	for _, c := range containers {
		tmps = append(tmps, l.tmp(c))
	}
	private := []string{filepath.Join(l.dir, "termination"), filepath.Join(l.dir, "etc")}
	for _, c := range containers {
		private = append(private, filepath.Dir(l.log(c)))
	}
	for _, d := range slices.Concat(shared, tmps, private) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if !mapIDs {
		return nil
	}
	for _, d := range shared {
		mode := os.FileMode(0o777)
		if fsGroup >= 0 {
			if err := os.Chown(d, 0, int(fsGroup)); err != nil {
				return err
			}
			mode |= os.ModeSetgid
		}
		if err := os.Chmod(d, mode); err != nil {
			return err
		}
	}
	for _, d := range tmps {
		if err := os.Chmod(d, 0o777|os.ModeSticky); err != nil {
			return err
		}
	}
	return nil
}

// containerID is the stable ID of a pod's container: 64 hex digits like a
// containerd ID, derived from the pod UID and the container's name.
func containerID(uid types.UID, container string) string {
	sum := sha256.Sum256([]byte(string(uid) + "/" + container))
	return hex.EncodeToString(sum[:])
}
