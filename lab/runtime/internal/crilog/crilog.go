// Package crilog writes container output in the CRI log format that the
// kubelet reads back for `kubectl logs`:
//
//	<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>\n
//
// "F" ends a line; "P" is a partial chunk of a longer line that continues in
// the next entry. The format is specified in the CRI design doc
// (kubernetes/design-proposals-archive, node/kubelet-cri-logging.md) and
// parsed by k8s.io/cri-client/pkg/logs.
package crilog

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"time"
)

// MaxLineSize is the largest content written in one entry (16 KiB, the
// default max_container_log_line_size of containerd's CRI plugin). A longer
// line is written as several "P" entries and a final "F" entry.
const MaxLineSize = 16 * 1024

// Stream names the output a log entry came from.
type Stream string

// The two streams of a container.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// Writer appends CRI log entries to one file. Both streams of a container
// share a Writer; each entry is written with a single Write call under a
// mutex, so entries never interleave.
type Writer struct {
	mu  sync.Mutex
	out io.Writer
	now func() time.Time
	buf []byte
}

// NewWriter returns a Writer appending to out, stamping entries with now()
// (UTC, RFC 3339 with nanoseconds).
func NewWriter(out io.Writer, now func() time.Time) *Writer {
	return &Writer{out: out, now: now, buf: make([]byte, 0, MaxLineSize+64)}
}

// WriteEntry writes one entry with content (which must not contain '\n').
// partial selects the "P" tag instead of "F".
func (w *Writer) WriteEntry(stream Stream, partial bool, content []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	tag := "F"
	if partial {
		tag = "P"
	}
	b := w.buf[:0]
	b = w.now().UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, ' ')
	b = append(b, tag...)
	b = append(b, ' ')
	b = append(b, content...)
	b = append(b, '\n')
	w.buf = b[:0]
	_, err := w.out.Write(b)
	return err
}

// Copy reads src until EOF and writes it as entries of stream: one "F" entry
// per line (without its '\n'), lines longer than MaxLineSize split into "P"
// entries. A last line without '\n' is written as an "F" entry, as
// containerd does. Memory use is bounded by MaxLineSize whatever the input.
// Copy returns nil at EOF, or the first read or write error.
func (w *Writer) Copy(stream Stream, src io.Reader) error {
	r := bufio.NewReaderSize(src, MaxLineSize)
	for {
		line, err := r.ReadSlice('\n')
		switch {
		case err == nil:
			if werr := w.WriteEntry(stream, false, line[:len(line)-1]); werr != nil {
				return werr
			}
		case errors.Is(err, bufio.ErrBufferFull):
			if werr := w.WriteEntry(stream, true, line); werr != nil {
				return werr
			}
		default:
			if len(line) > 0 {
				if werr := w.WriteEntry(stream, false, line); werr != nil {
					return werr
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
