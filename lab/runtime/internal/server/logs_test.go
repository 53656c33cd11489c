package server

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	crilogs "k8s.io/cri-client/pkg/logs"

	"kbuild.dev/lab/runtime/internal/crilog"
	"kbuild.dev/lab/runtime/internal/sandbox"
)

func TestParseLogQuery(t *testing.T) {
	now := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	i64 := func(n int64) *int64 { return &n }
	tests := []struct {
		name    string
		query   string
		want    logRequest
		wantErr *regexp.Regexp
	}{
		{name: "defaults", query: "", want: logRequest{stream: "All"}},
		{
			name:  "all options",
			query: "follow=true&timestamps=1&tailLines=10&limitBytes=500&sinceSeconds=60&previous=false",
			want:  logRequest{stream: "All", opts: optsOf(true, true, i64(10), i64(500), now.Add(-time.Minute))},
		},
		{name: "legacy tail", query: "tail=5", want: logRequest{stream: "All", opts: optsOf(false, false, i64(5), nil, time.Time{})}},
		{name: "legacy tail all", query: "tail=all", want: logRequest{stream: "All"}},
		{name: "since time", query: "sinceTime=2026-11-21T19:00:00Z", want: logRequest{stream: "All", opts: optsOf(false, false, nil, nil, now.Add(-time.Hour))}},
		{name: "one stream", query: "stream=Stderr", want: logRequest{stream: "Stderr"}},
		{name: "previous", query: "previous=true", want: logRequest{stream: "All", previous: true}},
		{name: "bad bool", query: "follow=yes", wantErr: regexp.MustCompile(`invalid syntax`)},
		{name: "negative tail", query: "tailLines=-1", wantErr: regexp.MustCompile(`tailLines must be at least 0`)},
		{name: "zero limit", query: "limitBytes=0", wantErr: regexp.MustCompile(`limitBytes must be at least 1`)},
		{name: "both since", query: "sinceSeconds=5&sinceTime=2026-11-21T19:00:00Z", wantErr: regexp.MustCompile(`at most one of`)},
		{name: "bad stream", query: "stream=both", wantErr: regexp.MustCompile(`invalid stream type "both"`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseLogQuery(q, now)
			if tc.wantErr != nil {
				if err == nil || !tc.wantErr.MatchString(err.Error()) {
					t.Fatalf("error %v, want one matching %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.stream != tc.want.stream || got.previous != tc.want.previous || got.opts.Follow != tc.want.opts.Follow ||
				got.opts.Timestamp != tc.want.opts.Timestamp || !got.opts.Since.Equal(tc.want.opts.Since) ||
				!sameInt(got.opts.TailLines, tc.want.opts.TailLines) || !sameInt(got.opts.LimitBytes, tc.want.opts.LimitBytes) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// fakeBackend serves one log file whose container runs while running is set.
type fakeBackend struct {
	path    string
	running atomic.Bool
}

func (f *fakeBackend) ContainerLog(_, pod, container string, previous bool) (string, string, error) {
	if pod != "p" || container != "c" {
		return "", "", errors.New(`container "` + container + `" in pod "` + pod + `" is waiting to start: ContainerCreating`)
	}
	return f.path, "id-1", nil
}

func (f *fakeBackend) ContainerRunning(id string) bool { return id == "id-1" && f.running.Load() }

func (f *fakeBackend) ExecTarget(string, string, types.UID, string) (sandbox.ExecOptions, error) {
	return sandbox.ExecOptions{}, errors.New(`container not found ("c")`)
}

// TestFollow checks that a followed log of a quiet, running container stays
// open, streams lines as they are written, and ends once the container has
// exited.
func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	logs := crilog.NewWriter(f, time.Now)
	if err := logs.WriteEntry(crilog.Stdout, false, []byte("first")); err != nil {
		t.Fatal(err)
	}
	backend := &fakeBackend{path: path}
	backend.running.Store(true)
	srv := httptest.NewServer(Handler(backend))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/containerLogs/ns/p/c?follow=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	expectLine := func(want string) {
		t.Helper()
		line, err := r.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("read %q, %v; want %q", line, err, want)
		}
	}
	expectLine("first\n")
	if err := logs.WriteEntry(crilog.Stderr, true, []byte("sec")); err != nil {
		t.Fatal(err)
	}
	if err := logs.WriteEntry(crilog.Stderr, false, []byte("ond")); err != nil {
		t.Fatal(err)
	}
	expectLine("second\n")
	if err := logs.WriteEntry(crilog.Stdout, false, []byte("last")); err != nil {
		t.Fatal(err)
	}
	backend.running.Store(false)
	rest, err := io.ReadAll(r)
	if err != nil || string(rest) != "last\n" {
		t.Fatalf("rest %q, %v; want the last line and the end of the stream", rest, err)
	}
}

func TestLogErrors(t *testing.T) {
	srv := httptest.NewServer(Handler(&fakeBackend{path: "/nonexistent"}))
	defer srv.Close()
	tests := []struct {
		name, path string
		wantCode   int
		wantBody   *regexp.Regexp
	}{
		{name: "waiting container", path: "/containerLogs/ns/p/other", wantCode: 400, wantBody: regexp.MustCompile(`^container "other" in pod "p" is waiting to start: ContainerCreating\n$`)},
		{name: "invalid query", path: "/containerLogs/ns/p/c?tailLines=x", wantCode: 422, wantBody: regexp.MustCompile(`tailLines`)},
		{name: "missing file", path: "/containerLogs/ns/p/c", wantCode: 400, wantBody: regexp.MustCompile(`/nonexistent`)},
		{name: "healthz", path: "/healthz", wantCode: 200, wantBody: regexp.MustCompile(`^ok$`)},
		{name: "exec into a stopped container", path: "/exec/ns/p/c?command=true&output=1", wantCode: 404, wantBody: regexp.MustCompile(`container not found \("c"\)`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode || !tc.wantBody.Match(body) {
				t.Errorf("got %d %q, want %d matching %v", resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

func sameInt(a, b *int64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

func optsOf(follow, ts bool, tail, limit *int64, since time.Time) crilogs.LogOptions {
	return crilogs.LogOptions{Follow: follow, Timestamp: ts, TailLines: tail, LimitBytes: limit, Since: since}
}
