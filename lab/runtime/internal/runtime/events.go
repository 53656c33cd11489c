package runtime

import (
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// recorders emits events as the kubelet of each node (source component
// "kubelet", host the node's name), like `kubectl describe pod` shows them.
type recorders struct {
	broadcaster record.EventBroadcaster
	mu          sync.Mutex
	byNode      map[string]record.EventRecorder
}

func newRecorders(client kubernetes.Interface) *recorders {
	b := record.NewBroadcaster()
	if client != nil {
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	}
	return &recorders{broadcaster: b, byNode: map[string]record.EventRecorder{}}
}

func (r *recorders) event(node string, ref *corev1.ObjectReference, eventType, reason, message string) {
	r.mu.Lock()
	rec, ok := r.byNode[node]
	if !ok {
		rec = r.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: node})
		r.byNode[node] = rec
	}
	r.mu.Unlock()
	rec.Event(ref, eventType, reason, message)
}

func (r *recorders) shutdown() { r.broadcaster.Shutdown() }

// podRef refers to the pod as a whole.
func podRef(pod *corev1.Pod) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		ResourceVersion: pod.ResourceVersion,
	}
}

// containerRef refers to one container, with the kubelet's field path
// ("spec.containers{name}" or "spec.initContainers{name}").
func containerRef(pod *corev1.Pod, name string, init bool) *corev1.ObjectReference {
	ref := podRef(pod)
	field := "spec.containers"
	if init {
		field = "spec.initContainers"
	}
	ref.FieldPath = fmt.Sprintf("%s{%s}", field, name)
	return ref
}

// event emits an event about the worker's pod.
func (w *podWorker) event(ref *corev1.ObjectReference, eventType, reason, message string) {
	w.m.events.event(w.nodeName, ref, eventType, reason, message)
}
