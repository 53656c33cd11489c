// Package runtime is the lab's stand-in for the kubelets of every lab node:
// it watches the pods bound to nodes carrying the managed-node annotation,
// runs their containers in bubblewrap sandboxes on this host and writes
// their status back like a kubelet.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"kbuild.dev/lab/runtime/internal/imageref"
	"kbuild.dev/lab/runtime/internal/sandbox"
)

// Config is the runtime's configuration.
type Config struct {
	Client kubernetes.Interface
	// StateDir holds the pod directories (StateDir/pods/...).
	StateDir string
	// NodeAnnotations are the annotations (all of them) that mark a node
	// as run by this runtime (kwok's kwok.x-k8s.io/node=fake).
	NodeAnnotations map[string]string
	// Bwrap and Nsenter are the bubblewrap and nsenter binaries.
	Bwrap, Nsenter string
	// Masks are host directories hidden from every sandbox (the state
	// directory, the kubeconfig's and the serving key's directories).
	Masks []string
	// Images are the images the nodes hold (lab/images/catalogue.json,
	// built by lab/scripts/build-images.sh); anything else fails to pull.
	Images *imageref.Catalogue
	// MapIDs: the runtime is root and maps the containers' IDs to the same
	// host IDs (sandbox.Spec.MapIDs).
	MapIDs bool
	// BinfmtDir is where binfmt_misc is mounted (/proc/sys/fs/binfmt_misc);
	// see emulationProblem.
	BinfmtDir string
}

// Manager runs the pods of the managed nodes.
type Manager struct {
	cfg    Config
	pods   corelisters.PodLister
	nodes  corelisters.NodeLister
	events *recorders
	memory *sandbox.MemoryWatcher
	// ctx ends when the runtime shuts down.
	ctx context.Context

	mu      sync.Mutex
	workers map[string]*podWorker // by namespace/name
	wg      sync.WaitGroup        // one per worker goroutine
}

// New returns a Manager for cfg; Run starts it.
func New(cfg Config) *Manager {
	return &Manager{cfg: cfg, workers: map[string]*podWorker{}, events: newRecorders(cfg.Client),
		memory: sandbox.NewMemoryWatcher(memoryInterval)}
}

// shutdownWait bounds how long Run waits, after ctx ends, for the killed
// sandboxes to exit.
const shutdownWait = 10 * time.Second

// Run watches nodes and pods until ctx ends, then kills every sandbox it
// started and returns. It removes the directories of pods deleted while the
// runtime was not running once its caches are filled. ready is called then.
func (m *Manager) Run(ctx context.Context, ready func()) error {
	m.ctx = ctx
	nodeFactory := informers.NewSharedInformerFactory(m.cfg.Client, 0)
	podFactory := informers.NewSharedInformerFactoryWithOptions(m.cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName!=" }))
	nodeInformer := nodeFactory.Core().V1().Nodes()
	podInformer := podFactory.Core().V1().Pods()
	m.nodes, m.pods = nodeInformer.Lister(), podInformer.Lister()

	if _, err := nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    m.nodeChanged,
		UpdateFunc: func(_, n any) { m.nodeChanged(n) },
	}); err != nil {
		return err
	}
	nodeFactory.Start(ctx.Done())
	defer nodeFactory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), nodeInformer.Informer().HasSynced) {
		return errors.New("node cache did not sync")
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { m.podChanged(o) },
		UpdateFunc: func(_, o any) { m.podChanged(o) },
		DeleteFunc: m.podDeleted,
	}); err != nil {
		return err
	}
	podFactory.Start(ctx.Done())
	defer podFactory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.Informer().HasSynced) {
		return errors.New("pod cache did not sync")
	}
	m.removeOrphanDirs()
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	m.shutdown()
	return nil
}

// managed reports whether nodeName is a node of this runtime.
func (m *Manager) managed(nodeName string) (*corev1.Node, bool) {
	node, err := m.nodes.Get(nodeName)
	if err != nil {
		return nil, false
	}
	for k, v := range m.cfg.NodeAnnotations {
		if node.Annotations[k] != v {
			return node, false
		}
	}
	return node, true
}

// nodeChanged picks up pods bound to a node before the node was seen.
func (m *Manager) nodeChanged(obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok || m.pods == nil {
		return
	}
	if _, ok := m.managed(node.Name); !ok {
		return
	}
	pods, err := m.pods.List(everything)
	if err != nil {
		return
	}
	for _, p := range pods {
		if p.Spec.NodeName == node.Name {
			m.podChanged(p)
		}
	}
}

// podChanged starts a worker for a new pod of a managed node, or passes the
// latest object to its worker.
func (m *Manager) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	node, ok := m.managed(pod.Spec.NodeName)
	if !ok {
		return
	}
	key := pod.Namespace + "/" + pod.Name
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return
	}
	w := m.workers[key]
	if w != nil && w.uid != pod.UID {
		// The old pod's delete event was missed: it is gone.
		w.gone()
		w = nil
	}
	if w == nil {
		w = newPodWorker(m, pod, node)
		m.workers[key] = w
		m.wg.Add(1)
		go w.run()
		return
	}
	w.update(pod)
}

// podDeleted stops the worker of a pod removed from the API server (its
// final delete, or a forced one) and removes the pod's directory.
func (m *Manager) podDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := pod.Namespace + "/" + pod.Name
	m.mu.Lock()
	w := m.workers[key]
	if w != nil && w.uid == pod.UID {
		delete(m.workers, key)
	} else {
		w = nil
	}
	m.mu.Unlock()
	if w != nil {
		w.gone()
	}
}

// worker returns the worker of namespace/name, or nil.
func (m *Manager) worker(namespace, name string) *podWorker {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.workers[namespace+"/"+name]
}

// removeOrphanDirs removes the directories of pods that no longer exist
// (deleted while the runtime was down).
func (m *Manager) removeOrphanDirs() {
	dirs, err := os.ReadDir(filepath.Join(m.cfg.StateDir, "pods"))
	if err != nil {
		return
	}
	pods, err := m.pods.List(everything)
	if err != nil {
		return
	}
	live := map[types.UID]bool{}
	for _, p := range pods {
		live[p.UID] = true
	}
	for _, d := range dirs {
		if uid, ok := uidFromDirName(d.Name()); ok && !live[uid] {
			path := filepath.Join(m.cfg.StateDir, "pods", d.Name())
			if err := os.RemoveAll(path); err != nil {
				klog.ErrorS(err, "Removing the directory of a deleted pod", "dir", path)
			} else {
				klog.InfoS("Removed the directory of a pod deleted while the runtime was down", "dir", path)
			}
		}
	}
}

// shutdown kills every sandbox at once and waits for the workers to end.
func (m *Manager) shutdown() {
	m.mu.Lock()
	workers := make([]*podWorker, 0, len(m.workers))
	for _, w := range m.workers {
		workers = append(workers, w)
	}
	m.mu.Unlock()
	for _, w := range workers {
		w.kill(killShutdown)
	}
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		klog.InfoS("All sandboxes stopped", "pods", len(workers))
	case <-time.After(shutdownWait):
		klog.ErrorS(fmt.Errorf("timed out after %s", shutdownWait), "Waiting for sandboxes to stop")
	}
	m.events.shutdown()
}
