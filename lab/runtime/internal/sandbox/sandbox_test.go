package sandbox

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startSandbox runs argv in a real bubblewrap sandbox with a workspace and a
// /tmp from t.TempDir(); it skips the test where bwrap cannot run.
func startSandbox(t *testing.T, argv ...string) (*Process, string, *os.File) {
	p, ws, out, _ := startSandboxArgs(t, argv...)
	return p, ws, out
}

// startSandboxArgs is startSandbox that also returns bwrap's path and options.
func startSandboxArgs(t *testing.T, argv ...string) (*Process, string, *os.File, []string) {
	t.Helper()
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bwrap is not installed")
	}
	if err := exec.Command(bwrap, "--unshare-user", "--ro-bind", "/", "/", "true").Run(); err != nil {
		t.Skipf("bwrap cannot create namespaces here: %v", err)
	}
	dir := t.TempDir()
	ws, tmp := filepath.Join(dir, "ws"), filepath.Join(dir, "tmp")
	for _, d := range []string{ws, tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	spec := Spec{UID: 65532, GID: 65532, WorkingDir: "/workspace", Hostname: "pod",
		Binds: []Bind{{Source: ws, Dest: "/workspace"}, {Source: tmp, Dest: "/tmp"}}}
	args, err := BwrapArgs(spec, OSFS{})
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(StartOptions{Bwrap: bwrap, Args: args, Argv: argv, Env: []string{"PATH=" + defaultTestPath}, Stdout: outW, Stderr: outW})
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		<-p.Done()
		outR.Close()
	})
	return p, ws, outR, append([]string{bwrap}, args...)
}

const defaultTestPath = "/usr/local/bin:/usr/bin:/bin"

func waitDone(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("sandbox did not exit")
	}
}

func TestSandboxRun(t *testing.T) {
	p, ws, out := startSandbox(t, "sh", "-c", `id -u; hostname; pwd; echo hi > /workspace/f; touch /etc/kb-test 2>/dev/null || echo ro; exit 3`)
	waitDone(t, p)
	got, _ := io.ReadAll(out)
	if want := "65532\npod\n/workspace\nro\n"; string(got) != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if p.ExitCode() != 3 || p.OOMKilled() {
		t.Errorf("exit code %d (oom %v), want 3", p.ExitCode(), p.OOMKilled())
	}
	if b, err := os.ReadFile(filepath.Join(ws, "f")); err != nil || string(b) != "hi\n" {
		t.Errorf("workspace file: %q, %v", b, err)
	}
}

func TestSandboxTerminate(t *testing.T) {
	p, _, _ := startSandbox(t, "sleep", "60")
	p.Terminate()
	waitDone(t, p)
	if p.ExitCode() != 128+15 {
		t.Errorf("exit code %d, want 143", p.ExitCode())
	}
}

func TestSandboxMemoryLimit(t *testing.T) {
	// The shell holds 64 MB of "a" in a variable, well over the 16 MiB limit.
	p, _, _ := startSandbox(t, "sh", "-c", `x=$(head -c 64000000 /dev/zero | tr '\0' a); sleep 60`)
	NewMemoryWatcher(50*time.Millisecond).Watch(p, 16<<20)
	waitDone(t, p)
	if !p.OOMKilled() || p.ExitCode() != 137 {
		t.Errorf("oom %v exit %d, want OOM-killed with 137", p.OOMKilled(), p.ExitCode())
	}
}

func TestSandboxExec(t *testing.T) {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		t.Skip("nsenter is not installed")
	}
	p, ws, _, bw := startSandboxArgs(t, "sh", "-c", "echo started > /tmp/marker; sleep 60")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(filepath.Dir(ws), "tmp", "marker")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("container did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var stdout, stderr bytes.Buffer
	code, err := Exec(context.Background(), ExecOptions{
		Nsenter: nsenter, InitPID: p.InitPID, UID: 65532, GID: 65532, WorkingDir: "/workspace",
		Bwrap: bw[0], BwrapArgs: bw[1:],
		Argv:  []string{"sh", "-c", `cat > in; cat /tmp/marker; id -u; pwd; wc -c < in; ps -e -o comm= | grep -c sleep; echo oops >&2; exit 4`},
		Env:   []string{"PATH=" + defaultTestPath},
		Stdin: strings.NewReader(strings.Repeat("x", 100000)), Stdout: &stdout, Stderr: &stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	// As root, exec joins the container and sees its sleep; otherwise it
	// runs in a new sandbox that does not.
	sleeps := map[bool]string{true: "1", false: "0"}[os.Geteuid() == 0]
	if want := "started\n65532\n/workspace\n100000\n" + sleeps + "\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if stderr.String() != "oops\n" || code != 4 {
		t.Errorf("stderr %q code %d, want oops and 4", stderr.String(), code)
	}
	if fi, err := os.Stat(filepath.Join(ws, "in")); err != nil || fi.Size() != 100000 {
		t.Errorf("stdin not stored in the workspace: %v %v", fi, err)
	}
}

func TestSandboxExecTTY(t *testing.T) {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		t.Skip("nsenter is not installed")
	}
	p, _, _, bw := startSandboxArgs(t, "sleep", "60")
	var out bytes.Buffer
	code, err := Exec(context.Background(), ExecOptions{
		Nsenter: nsenter, InitPID: p.InitPID, UID: 65532, GID: 65532, TTY: true, Bwrap: bw[0], BwrapArgs: bw[1:],
		Argv: []string{"sh", "-c", "tty; exit 6"}, Env: []string{"PATH=" + defaultTestPath},
		Stdin: strings.NewReader(""), Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^/dev/pts/\d+\r\n$`) // the sandbox's own terminal
	if os.Geteuid() != 0 {
		want = regexp.MustCompile(`^/dev/console\r\n$`) // a new sandbox binds the terminal there
	}
	if got := out.String(); code != 6 || !want.MatchString(got) {
		t.Errorf("output %q code %d, want a /dev/pts name and 6", got, code)
	}
}
