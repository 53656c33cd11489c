// Package server is the lab runtime's kubelet API: the endpoints the API
// server proxies pods/log and pods/exec to
// (pkg/kubelet/server/server.go: /containerLogs, /exec), and /healthz.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"kbuild.dev/lab/runtime/internal/sandbox"
)

// Backend is what the API needs from the runtime.
type Backend interface {
	// ContainerLog returns a container's CRI log file and ID, or the
	// kubelet's error message when it has no log to read.
	ContainerLog(namespace, pod, container string, previous bool) (path, id string, err error)
	// ContainerRunning reports whether the container with this ID runs.
	ContainerRunning(id string) bool
	// ExecTarget returns how to enter a running container (Argv, TTY and
	// streams left empty).
	ExecTarget(namespace, pod string, uid types.UID, container string) (sandbox.ExecOptions, error)
}

// Options configure the server.
type Options struct {
	// Addr is the listen address (127.0.0.1:16450).
	Addr string
	// CertFile and KeyFile are the TLS serving certificate and key.
	CertFile, KeyFile string
	// ClientCAFile, when set, requires client certificates signed by it
	// (the API server's --kubelet-client-certificate).
	ClientCAFile string
}

// Streaming timeouts, the kubelet's defaults (streaming-connection-idle-timeout
// is 4 h; stream creation 30 s).
const (
	idleTimeout           = 4 * time.Hour
	streamCreationTimeout = 30 * time.Second
)

// Handler returns the kubelet API's routes for backend.
func Handler(backend Backend) http.Handler {
	s := &handlers{backend: backend}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.containerLogs)
	mux.HandleFunc("/exec/{namespace}/{pod}/{container}", s.exec)
	mux.HandleFunc("/exec/{namespace}/{pod}/{uid}/{container}", s.exec)
	return mux
}

type handlers struct {
	backend Backend
}

// Serve serves the API over TLS on opts.Addr until ctx ends.
func Serve(ctx context.Context, opts Options, backend Backend) error {
	cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
	if err != nil {
		return fmt.Errorf("loading the serving certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if opts.ClientCAFile != "" {
		pem, err := os.ReadFile(opts.ClientCAFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("no certificate in %s", opts.ClientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: Handler(backend), TLSConfig: cfg, ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: nil}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = srv.Close()
	}()
	klog.InfoS("Serving the kubelet API", "address", ln.Addr().String())
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
