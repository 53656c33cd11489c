package runtime

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

func TestEmulationProblem(t *testing.T) {
	foreign := map[string]string{"amd64": "arm64", "arm64": "amd64"}[goruntime.GOARCH]
	if foreign == "" {
		t.Skipf("no foreign architecture known for %s", goruntime.GOARCH)
	}
	entry := qemuNames[foreign]
	dir := t.TempDir()
	write := func(content string) {
		if err := os.WriteFile(filepath.Join(dir, entry), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if p := emulationProblem(dir, goruntime.GOARCH); p != "" {
		t.Errorf("own architecture: %q", p)
	}
	for _, tc := range []struct {
		name, content, want string
	}{
		{name: "not registered", want: "is not registered in binfmt_misc"},
		{name: "disabled", content: "disabled\ninterpreter /usr/libexec/qemu-binfmt/x\nflags: PF\n", want: "is disabled"},
		{name: "no F flag", content: "enabled\ninterpreter /usr/libexec/qemu-binfmt/x\nflags: P\n", want: "without the F flag"},
		{name: "registered with F", content: "enabled\ninterpreter /usr/libexec/qemu-binfmt/x\nflags: PF\noffset 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.content != "" {
				write(tc.content)
			}
			got := emulationProblem(dir, foreign)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want one containing %q", got, tc.want)
			}
			if tc.want != "" && !strings.Contains(got, "lab/scripts/binfmt.sh") {
				t.Errorf("%q does not say what to do", got)
			}
		})
	}
	if p := emulationProblem(dir, "riscv64"); !strings.Contains(p, "no emulator is known") {
		t.Errorf("riscv64: %q", p)
	}
}
