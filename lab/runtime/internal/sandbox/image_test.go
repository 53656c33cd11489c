package sandbox

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// labImage returns the root filesystem of a lab image built by
// lab/scripts/build-images.sh (KBUILD_LAB_TEST_ROOTFS, else the cached
// debian:bookworm for amd64), or skips: the catalogue's images are not
// part of the repository.
func labImage(t *testing.T) string {
	t.Helper()
	if r := os.Getenv("KBUILD_LAB_TEST_ROOTFS"); r != "" {
		return r
	}
	home, _ := os.UserHomeDir()
	cache := os.Getenv("KBUILD_LAB_CACHE")
	if cache == "" {
		cache = filepath.Join(home, ".cache", "kbuild-lab")
	}
	matches, _ := filepath.Glob(filepath.Join(cache, "images", "debian-bookworm-amd64-*", "rootfs"))
	for _, m := range matches {
		if _, err := os.Stat(filepath.Join(filepath.Dir(m), ".complete")); err == nil {
			return m
		}
	}
	t.Skip("no lab image built (lab/scripts/build-images.sh debian:bookworm)")
	return ""
}

// TestSandboxImage runs a container in an image's root filesystem with
// mapped IDs, as the runtime does as root: the image's files belong to
// root and are read-only, the user and its groups come from the spec, what
// it writes belongs to it on the host, and exec joins it with the same
// user and groups.
func TestSandboxImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mapped IDs need root")
	}
	rootfs := labImage(t)
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bwrap is not installed")
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		t.Skip("nsenter is not installed")
	}
	dir := t.TempDir()
	ws, tmp := filepath.Join(dir, "ws"), filepath.Join(dir, "tmp")
	for _, d := range []string{ws, tmp} {
		if err := os.Mkdir(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	spec := Spec{Root: rootfs, MapIDs: true, UID: 65532, GID: 65532, Groups: []int64{4000}, WorkingDir: "/workspace/sub",
		Hostname: "pod", Binds: []Bind{{Source: ws, Dest: "/workspace"}, {Source: tmp, Dest: "/tmp"}}}
	if err := os.Mkdir(filepath.Join(ws, "sub"), 0o777); err != nil {
		t.Fatal(err)
	}
	args, err := BwrapArgs(spec, OSFS{})
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	script := `id -u; id -G; pwd; stat -c '%U %G' /usr/bin/env; touch /usr/kb 2>/dev/null || echo read-only; ` +
		`echo hi > /workspace/f; cat /proc/self/status | grep -E '^CapEff'; ls /proc/self/fd | wc -l; echo started > /tmp/m; sleep 60`
	p, err := Start(StartOptions{Bwrap: bwrap, Args: args, Argv: []string{"sh", "-c", script},
		Env: []string{"PATH=" + defaultTestPath}, Stdout: outW, Stderr: outW,
		IDs: &IDMap{UID: 65532, GID: 65532, Groups: []int64{4000}}})
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		<-p.Done()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(tmp, "m")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			p.Kill()
			<-p.Done()
			b, _ := io.ReadAll(outR)
			t.Fatalf("the container did not start: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var stdout, stderr bytes.Buffer
	code, err := Exec(context.Background(), ExecOptions{
		Nsenter: nsenter, InitPID: p.InitPID, UID: 65532, GID: 65532, Groups: []int64{4000}, MapIDs: true,
		WorkingDir: "/workspace", Argv: []string{"sh", "-c", "id -u; id -G; cat /proc/[0-9]*/comm | grep -c sleep"},
		Env: []string{"PATH=" + defaultTestPath}, Stdout: &stdout, Stderr: &stderr,
	})
	if err != nil || code != 0 {
		t.Fatalf("exec: %v, code %d, stderr %q", err, code, stderr.String())
	}
	if want := "65532\n65532 4000\n1\n"; stdout.String() != want {
		t.Errorf("exec output %q, want %q", stdout.String(), want)
	}
	p.Kill()
	<-p.Done()
	got, _ := io.ReadAll(outR)
	// Three descriptors (0-2) plus the one ls opens to list them.
	want := "65532\n65532 4000\n/workspace/sub\nroot root\nread-only\nCapEff:\t0000000000000000\n4\n"
	if string(got) != want {
		t.Errorf("output %q, want %q", got, want)
	}
	fi, err := os.Stat(filepath.Join(ws, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys(); st != nil && !strings.Contains(ownerOf(fi), "65532:") {
		t.Errorf("the written file belongs to %s on the host, want 65532", ownerOf(fi))
	}
}
