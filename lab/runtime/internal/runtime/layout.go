package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
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
func (l layout) remove() error               { return os.RemoveAll(l.dir) }

// create makes the pod's directories for its emptyDir volumes and containers
// (mode 0755: every sandbox user maps to the runtime's own host user).
func (l layout) create(volumes, containers []string) error {
	dirs := []string{l.workspace(), filepath.Join(l.dir, "termination")}
	for _, v := range volumes {
		dirs = append(dirs, l.volume(v))
	}
	for _, c := range containers {
		dirs = append(dirs, l.tmp(c), filepath.Dir(l.log(c)))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
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
