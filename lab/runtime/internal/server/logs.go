package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	criapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	crilogs "k8s.io/cri-client/pkg/logs"
	"k8s.io/klog/v2"
)

// logRequest is a parsed containerLogs query.
type logRequest struct {
	opts     crilogs.LogOptions
	previous bool
	// stream is "All", "Stdout" or "Stderr" (PodLogOptions.stream).
	stream string
}

// parseLogQuery reads the query parameters of GET /containerLogs, the v1
// PodLogOptions fields (follow, previous, timestamps, sinceSeconds,
// sinceTime, tailLines, limitBytes, stream) plus the legacy "tail" ("all" =
// every line), and validates them like ValidatePodLogOptions.
func parseLogQuery(q url.Values, now time.Time) (logRequest, error) {
	req := logRequest{stream: "All"}
	flag := func(name string) (bool, error) {
		v := q.Get(name)
		if v == "" {
			return false, nil
		}
		return strconv.ParseBool(v)
	}
	number := func(name string, min int64) (*int64, error) {
		v := q.Get(name)
		if v == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if n < min {
			return nil, fmt.Errorf("%s must be at least %d", name, min)
		}
		return &n, nil
	}
	var err error
	if req.opts.Follow, err = flag("follow"); err != nil {
		return req, err
	}
	if req.previous, err = flag("previous"); err != nil {
		return req, err
	}
	if req.opts.Timestamp, err = flag("timestamps"); err != nil {
		return req, err
	}
	if tail := q.Get("tail"); tail != "" && q.Get("tailLines") == "" {
		q = cloneWith(q, "tailLines", tail)
	}
	if q.Get("tailLines") != "all" {
		if req.opts.TailLines, err = number("tailLines", 0); err != nil {
			return req, err
		}
	}
	if req.opts.LimitBytes, err = number("limitBytes", 1); err != nil {
		return req, err
	}
	since, err := number("sinceSeconds", 1)
	if err != nil {
		return req, err
	}
	if since != nil {
		req.opts.Since = now.Add(-time.Duration(*since) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if since != nil {
			return req, errors.New("at most one of sinceSeconds or sinceTime may be specified")
		}
		if req.opts.Since, err = time.Parse(time.RFC3339, v); err != nil {
			return req, fmt.Errorf("sinceTime: %w", err)
		}
	}
	switch s := q.Get("stream"); s {
	case "", "All":
	case "Stdout", "Stderr":
		if req.opts.TailLines != nil {
			return req, errors.New("tailLines cannot be used with a single stream")
		}
		req.stream = s
	default:
		return req, fmt.Errorf("invalid stream type %q", s)
	}
	return req, nil
}

func cloneWith(q url.Values, key, value string) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	out.Set(key, value)
	return out
}

// containerLogs serves GET /containerLogs/{namespace}/{pod}/{container}:
// the container's log, read with the kubelet's own CRI log reader. With
// follow, the response stays open while the container runs and ends once it
// has exited and the log is read to its end.
func (s *handlers) containerLogs(w http.ResponseWriter, r *http.Request) {
	req, err := parseLogQuery(r.URL.Query(), time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	path, id, err := s.backend.ContainerLog(r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container"), req.previous)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	var stdout, stderr io.Writer = fw, fw
	switch req.stream {
	case "Stdout":
		stderr = nil
	case "Stderr":
		stdout = nil
	}
	w.Header().Set("Content-Type", "text/plain")
	err = crilogs.ReadLogs(r.Context(), path, id, &req.opts, containerStates{backend: s.backend}, stdout, stderr)
	if err != nil && r.Context().Err() == nil {
		if fw.n == 0 {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		klog.ErrorS(err, "Reading container log", "path", path)
	}
}

// flushWriter flushes every write to the client, so that followed logs
// arrive line by line.
type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
	n  int64
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.n += int64(n)
	if err != nil {
		return n, err
	}
	return n, f.rc.Flush()
}

// containerStates is the RuntimeService that ReadLogs asks, while following,
// whether the container still runs: it reports the runtime's real state, so
// a quiet running container is followed for as long as it runs and the
// stream ends when it exits. Only ContainerStatus is implemented (the
// embedded interface is nil; ReadLogs calls nothing else).
type containerStates struct {
	criapi.RuntimeService
	backend Backend
}

// ContainerStatus reports CONTAINER_RUNNING or CONTAINER_EXITED.
func (c containerStates) ContainerStatus(_ context.Context, id string, _ bool) (*runtimeapi.ContainerStatusResponse, error) {
	state := runtimeapi.ContainerState_CONTAINER_EXITED
	if c.backend.ContainerRunning(id) {
		state = runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: id, State: state}}, nil
}
