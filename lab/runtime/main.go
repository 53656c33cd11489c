// Command kbuild-lab-runtime is the lab's pod runtime: one process standing
// in for the kubelets of all the lab's kwok nodes. It runs the containers of
// the pods bound to those nodes on this host, each in a bubblewrap sandbox,
// writes their status like a kubelet, and serves the kubelet API (logs,
// exec) that the API server proxies pods/log and pods/exec to. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"kbuild.dev/lab/runtime/internal/envvars"
	"kbuild.dev/lab/runtime/internal/imageref"
	"kbuild.dev/lab/runtime/internal/runtime"
	"kbuild.dev/lab/runtime/internal/server"
)

type options struct {
	kubeconfig, listen, certFile, keyFile, clientCAFile, stateDir, selector, bwrap, nsenter, metadataHost, images, binfmtDir string
}

func main() {
	var o options
	fs := flag.NewFlagSet("kbuild-lab-runtime", flag.ExitOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the lab's API server (required)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:16450", "address of the kubelet API (https)")
	fs.StringVar(&o.certFile, "tls-cert-file", "", "serving certificate of the kubelet API, PEM (required)")
	fs.StringVar(&o.keyFile, "tls-private-key-file", "", "serving key of the kubelet API, PEM (required)")
	fs.StringVar(&o.clientCAFile, "client-ca-file", "", "if set, require client certificates signed by this CA")
	fs.StringVar(&o.stateDir, "state-dir", "", "directory for pod directories and logs (required)")
	fs.StringVar(&o.selector, "node-annotation-selector", "kwok.x-k8s.io/node=fake", "annotations key=value[,key=value] of the nodes to run pods for")
	fs.StringVar(&o.bwrap, "bwrap", "bwrap", "bubblewrap binary (looked up in PATH)")
	fs.StringVar(&o.nsenter, "nsenter", "nsenter", "nsenter binary (looked up in PATH)")
	fs.StringVar(&o.metadataHost, "metadata-host", "", "IP:PORT of the GKE metadata server stand-in, set as GCE_METADATA_HOST/ROOT/IP in every container (empty: none)")
	fs.StringVar(&o.images, "images", "", "the image index written by lab/scripts/build-images.sh (required)")
	fs.StringVar(&o.binfmtDir, "binfmt-dir", "/proc/sys/fs/binfmt_misc", "where binfmt_misc is mounted (qemu-user for foreign architectures)")
	klogFlags := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(klogFlags)
	fs.Var(klogFlags.Lookup("v").Value, "v", "log verbosity")
	_ = fs.Parse(os.Args[1:])
	// Containers inherit the runtime's umask; runc gives them 0022 whatever
	// the caller's (lab.sh may run with 0077).
	syscall.Umask(0o022)

	if err := run(o); err != nil {
		klog.ErrorS(err, "kbuild-lab-runtime failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

func run(o options) error {
	for name, v := range map[string]string{"--kubeconfig": o.kubeconfig, "--tls-cert-file": o.certFile,
		"--tls-private-key-file": o.keyFile, "--state-dir": o.stateDir, "--images": o.images} {
		if v == "" {
			return fmt.Errorf("%s is required", name)
		}
	}
	selector, err := parseSelector(o.selector)
	if err != nil {
		return err
	}
	if err := envvars.SetMetadataHost(o.metadataHost); err != nil {
		return fmt.Errorf("--metadata-host: %w", err)
	}
	bwrap, err := exec.LookPath(o.bwrap)
	if err != nil {
		return fmt.Errorf("bubblewrap not found (--bwrap %s): %w", o.bwrap, err)
	}
	nsenter, err := exec.LookPath(o.nsenter)
	if err != nil {
		return fmt.Errorf("nsenter not found (--nsenter %s): %w", o.nsenter, err)
	}
	images, err := imageref.LoadCatalogue(o.images)
	if err != nil {
		return fmt.Errorf("--images: %w", err)
	}
	stateDir, err := filepath.Abs(o.stateDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(stateDir, "pods"), 0o755); err != nil {
		return err
	}
	config, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("loading --kubeconfig %s: %w", o.kubeconfig, err)
	}
	config.QPS, config.Burst = 50, 100
	config.UserAgent = "kbuild-lab-runtime"
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	masks := []string{stateDir}
	for _, f := range []string{o.kubeconfig, o.keyFile} {
		if abs, err := filepath.Abs(f); err == nil {
			masks = append(masks, filepath.Dir(abs))
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	manager := runtime.New(runtime.Config{
		Client: client, StateDir: stateDir, NodeAnnotations: selector, Bwrap: bwrap, Nsenter: nsenter, Masks: masks,
		Images: images, MapIDs: os.Geteuid() == 0, BinfmtDir: o.binfmtDir,
	})
	served := make(chan error, 1)
	go func() {
		err := server.Serve(ctx, server.Options{Addr: o.listen, CertFile: o.certFile, KeyFile: o.keyFile, ClientCAFile: o.clientCAFile}, manager)
		if err != nil {
			cancel(err)
		}
		served <- err
	}()
	klog.InfoS("Starting", "stateDir", stateDir, "nodeAnnotations", selector, "bwrap", bwrap, "images", o.images, "mapIDs", os.Geteuid() == 0)
	err = manager.Run(ctx, func() { klog.InfoS("Ready: watching pods") })
	cancel(nil)
	if serr := <-served; serr != nil {
		return serr
	}
	if cause := context.Cause(ctx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// parseSelector parses "key=value[,key=value]".
func parseSelector(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid --node-annotation-selector %q: use key=value[,key=value]", s)
		}
		out[k] = v
	}
	return out, nil
}
