package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
)

// qemuNames are the binfmt_misc entries of Debian's qemu-user-static (and
// binfmt-support) for the architectures a lab node may have.
var qemuNames = map[string]string{"arm64": "qemu-aarch64", "amd64": "qemu-x86_64"}

// emulationProblem returns "" when a container of architecture arch can
// run on this host: arch is the host's own, or its qemu-user interpreter
// is registered in binfmt_misc (dir) enabled and with the F flag (the
// interpreter is opened at registration, so it works inside a sandbox whose
// root filesystem lacks it). Otherwise it says what is missing, for the
// container's event. Never does a container run as another architecture.
func emulationProblem(dir, arch string) string {
	if arch == goruntime.GOARCH {
		return ""
	}
	name, ok := qemuNames[arch]
	if !ok {
		return fmt.Sprintf("the lab cannot run %s code on this %s machine: no emulator is known for %s", arch, goruntime.GOARCH, arch)
	}
	fix := "run lab/scripts/binfmt.sh as root (Debian packages qemu-user-static and binfmt-support), then start the pod again"
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return fmt.Sprintf("the lab cannot run %s code on this %s machine: %s is not registered in binfmt_misc (%v); %s",
			arch, goruntime.GOARCH, name, err, fix)
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "enabled" {
		return fmt.Sprintf("the lab cannot run %s code on this %s machine: %s is disabled in binfmt_misc; %s", arch, goruntime.GOARCH, name, fix)
	}
	for _, l := range lines {
		if flags, ok := strings.CutPrefix(l, "flags: "); ok && strings.Contains(flags, "F") {
			return ""
		}
	}
	return fmt.Sprintf("the lab cannot run %s code on this %s machine: %s is registered in binfmt_misc without the F flag, "+
		"so its interpreter is not found inside a sandbox; %s", arch, goruntime.GOARCH, name, fix)
}
