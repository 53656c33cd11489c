package crilog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	crilogs "k8s.io/cri-client/pkg/logs"
)

var fixed = time.Date(2026, 11, 21, 19, 30, 1, 123456789, time.UTC)

func clock() time.Time { return fixed }

func TestCopy(t *testing.T) {
	const ts = "2026-11-21T19:30:01.123456789Z"
	long := strings.Repeat("a", MaxLineSize)
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{name: "empty", input: "", want: ""},
		{name: "one line", input: "hello\n", want: ts + " stdout F hello\n"},
		{name: "no final newline", input: "a\nb", want: ts + " stdout F a\n" + ts + " stdout F b\n"},
		{name: "empty lines", input: "\n\n", want: ts + " stdout F \n" + ts + " stdout F \n"},
		{
			name:  "line longer than the limit is split",
			input: long + "bc\n",
			want:  ts + " stdout P " + long + "\n" + ts + " stdout F bc\n",
		},
		{
			name:  "line of exactly the limit ends with an empty full entry",
			input: long + "\n",
			want:  ts + " stdout P " + long + "\n" + ts + " stdout F \n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w := NewWriter(&out, clock)
			if err := w.Copy(Stdout, strings.NewReader(tc.input)); err != nil {
				t.Fatalf("Copy: %v", err)
			}
			if got := out.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRoundTrip checks that what Copy writes is read back byte for byte by
// the kubelet's own reader, k8s.io/cri-client/pkg/logs.ReadLogs.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		stdout string
		stderr string
	}{
		{name: "lines", stdout: "one\ntwo\n", stderr: "err\n"},
		{name: "long line", stdout: strings.Repeat("x", 3*MaxLineSize+5) + "\nshort\n"},
		{name: "binary-ish", stdout: "tab\there\r\nnul\x00byte\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "0.log")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			w := NewWriter(f, time.Now)
			if err := w.Copy(Stdout, strings.NewReader(tc.stdout)); err != nil {
				t.Fatal(err)
			}
			if err := w.Copy(Stderr, strings.NewReader(tc.stderr)); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			var gotOut, gotErr bytes.Buffer
			if err := crilogs.ReadLogs(context.Background(), path, "", &crilogs.LogOptions{}, nil, &gotOut, &gotErr); err != nil {
				t.Fatalf("ReadLogs: %v", err)
			}
			if gotOut.String() != tc.stdout {
				t.Errorf("stdout: got %d bytes, want %d", gotOut.Len(), len(tc.stdout))
			}
			if gotErr.String() != tc.stderr {
				t.Errorf("stderr: got %q, want %q", gotErr.String(), tc.stderr)
			}
		})
	}
}
