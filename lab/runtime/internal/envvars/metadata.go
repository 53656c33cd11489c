package envvars

import (
	"fmt"
	"net"
	"strconv"
)

// metadataHost is the host:port of the GKE metadata server stand-in that
// every container is pointed at; "" injects nothing. Set once at start
// (SetMetadataHost), before any pod is configured.
var metadataHost string

// MetadataVars are the variables that point a container's Google client
// libraries at the metadata server (lab/google/README.md): GCE_METADATA_HOST
// (google-auth-library's gcp-metadata, google-auth for Python),
// GCE_METADATA_ROOT (gcloud, and the older name Python's google-auth
// still reads) and GCE_METADATA_IP (gcp-metadata prefers it; google-auth's
// ping uses it). All three take host:port.
var MetadataVars = []string{"GCE_METADATA_HOST", "GCE_METADATA_ROOT", "GCE_METADATA_IP"}

// SetMetadataHost makes Resolve start every container's environment with
// MetadataVars set to hostPort ("127.0.0.1:16416"); the container's own env
// and envFrom override them. "" turns the injection off. It returns an
// error, and changes nothing, when hostPort is not an IP literal with a port
// (the clients build http://HOSTPORT/computeMetadata/v1 from it).
func SetMetadataHost(hostPort string) error {
	if hostPort == "" {
		metadataHost = ""
		return nil
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err == nil && net.ParseIP(host) == nil {
		err = fmt.Errorf("%q is not an IP address", host)
	}
	if err == nil {
		if p, perr := strconv.Atoi(port); perr != nil || p < 1 || p > 65535 {
			err = fmt.Errorf("%q is not a TCP port", port)
		}
	}
	if err != nil {
		return fmt.Errorf("invalid metadata server address %q: want IP:PORT, e.g. 127.0.0.1:16416: %w", hostPort, err)
	}
	metadataHost = hostPort
	return nil
}

// injected adds the runtime's own variables (the metadata server's) first,
// so that the container's env and envFrom can override them.
func injected(e *env) {
	if metadataHost == "" {
		return
	}
	for _, name := range MetadataVars {
		e.set(name, metadataHost)
	}
}
