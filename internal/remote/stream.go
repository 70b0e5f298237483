// Package remote is the client side of the ingest protocol of runlog's
// server (docs/server.md): a run's log files are appended, byte for byte,
// to the server's copy of the run folder, from the size the server already
// holds, in batches that end at a record boundary. Because the server
// trims what it has and refuses gaps, sending is idempotent and resumable:
// a client that lost track of what was acknowledged asks the server and
// continues from there.
//
// The Go client streams with it while a run trains; `runlog sync` pushes
// whole run folders with it afterwards.
package remote

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

// Environment variables that point clients at a server.
const (
	EnvURL   = "RUNLOG_URL"
	EnvToken = "RUNLOG_TOKEN"
)

// ClientHeader is the header every POST to the server must carry, naming
// the client and its version. A browser page of another origin cannot set
// it without the server's consent, which the server never gives.
const ClientHeader = "X-Runlog-Client"

// Batch limits. A batch holds at most MaxBatch bytes of whole records, or
// one record when a single record is larger (up to runfmt.MaxBodySize).
const (
	MaxBatch = 8 << 20
	// MaxBody is the largest request body a server must accept: a batch or
	// the largest possible record, with room to spare.
	MaxBody = 32 << 20
)

// ValidStream reports whether name is a file of a run folder that the
// ingest protocol carries: run.log, run.<name>.log (an attached writer,
// <name> being 1 to 64 letters, digits, '-' or '_') or training.log, the
// run's captured output.
func ValidStream(name string) bool {
	if name == layout.RunLogFile || name == layout.TrainingLog {
		return true
	}
	mid, ok := strings.CutPrefix(name, "run.")
	if !ok {
		return false
	}
	mid, ok = strings.CutSuffix(mid, ".log")
	if !ok || mid == "" || len(mid) > 64 {
		return false
	}
	for _, c := range mid {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// IsText reports whether stream is a text file (training.log), whose
// batches end at a line break, rather than a record log.
func IsText(stream string) bool { return stream == layout.TrainingLog }

// Complete returns how many bytes at the start of data, the bytes of
// stream from offset on, form whole records (whole lines for a text
// stream): what may be sent. The bytes after them are a record still being
// written. offset must be a record boundary.
func Complete(stream string, data []byte, offset int64) (n int, err error) {
	if IsText(stream) {
		return bytes.LastIndexByte(data, '\n') + 1, nil
	}
	r := runfmt.NewReaderAt(bytes.NewReader(data), stream, offset)
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	return int(r.Offset() - offset), nil
}

// ReadBatch reads the next batch of stream from f: the whole records (or
// lines) that start at offset, at most MaxBatch bytes of them unless one
// record alone is larger. It returns an empty batch when nothing whole
// follows offset yet. buf is reused when it is large enough.
func ReadBatch(f *os.File, stream string, offset int64, buf []byte) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	avail := fi.Size() - offset
	if avail <= 0 {
		return buf[:0], nil
	}
	size := int(min(avail, MaxBatch))
	for {
		if cap(buf) < size {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		n, err := f.ReadAt(buf, offset)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		whole, err := Complete(stream, buf[:n], offset)
		if err != nil {
			return nil, fmt.Errorf("read %s at offset %d: %w", stream, offset, err)
		}
		if whole > 0 || n < size || int64(size) >= avail || size > runfmt.MaxBodySize+64 {
			return buf[:whole], nil
		}
		size = int(min(2*int64(size), avail)) // one record larger than a batch
	}
}
