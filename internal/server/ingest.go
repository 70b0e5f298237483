package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/runlog/runlog/internal/atomicfile"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/remote"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfs"
)

// ingest appends a batch of a client's log to the server's copy
// (POST /api/v1/ingest/{id}/{stream}?offset=N). The body holds the bytes
// of the client's file from offset on, ending at a record boundary:
//
//   - bytes the server holds already are trimmed, after checking that they
//     are the same, so a batch sent twice is appended once;
//   - a batch that starts after the server's end is refused with 409 and
//     the server's size, from which the client resends;
//   - the rest is appended and the file synced to disk before the answer,
//     {"size": N}: an acknowledged byte survives a crash of the server.
//
// An empty body asks for the server's size. The periodic indexer indexes
// the file as it indexes any run folder.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) error {
	id, stream := r.PathValue("id"), r.PathValue("stream")
	if err := layout.CheckID(id); err != nil {
		return badRequest("%v", err)
	}
	if !remote.ValidStream(stream) {
		return badRequest("stream %q: use run.log, run.<name>.log or training.log", stream)
	}
	offset, err := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	if err != nil || offset < 0 {
		return badRequest("offset: give the offset in the file at which the body starts")
	}
	if s.db.ReadOnly() {
		return &httpError{http.StatusServiceUnavailable, "the server's home is read-only"}
	}
	// Bodies are read whole, up to MaxBody each: bound how many at once.
	select {
	case s.ingestSlots <- struct{}{}:
		defer func() { <-s.ingestSlots }()
	case <-r.Context().Done():
		return r.Context().Err()
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if s.team != nil {
		return s.teamIngest(w, r, id, stream, offset, body)
	}
	unlock := s.streams.lock(id + "/" + stream)
	defer unlock()
	size, err := s.appendBatch(r, id, stream, offset, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Size int64 `json:"size"`
	}{size})
	return nil
}

// conflictError refuses a batch that starts after the server's end: 409
// with the server's size, from which the client resends (see fail).
type conflictError struct {
	offset, size int64
}

func (e *conflictError) Error() string {
	return fmt.Sprintf("batch starts at offset %d but the server holds %d bytes: resend from %d", e.offset, e.size, e.size)
}

// appendBatch appends body, which starts at offset, to the run's stream
// and returns the file's size once it is durable. The stream's lock is
// held.
func (s *Server) appendBatch(r *http.Request, id, stream string, offset int64, body []byte) (int64, error) {
	dir := layout.RunDir(s.home, id)
	// Every read, cut and append of the stream's file goes through runfs:
	// a link that leads out of the run folder is refused.
	d, err := runfs.Open(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d = nil // a new run
	case err != nil:
		return 0, err
	default:
		defer d.Close()
	}
	size, err := s.streams.size(r, s, d, id, stream)
	if err != nil {
		return 0, err
	}
	if offset > size {
		return size, &conflictError{offset, size}
	}
	if skip := size - offset; skip > 0 && len(body) > 0 {
		if err := sameBytes(d, stream, offset, body[:min(skip, int64(len(body)))]); err != nil {
			return 0, err
		}
		if skip >= int64(len(body)) {
			return size, nil
		}
		body = body[skip:]
	}
	if len(body) == 0 {
		return size, nil
	}
	if err := checkBatch(id, stream, size, body); err != nil {
		return 0, err
	}
	if err := s.appendFile(dir, stream, body); err != nil {
		// What was written of the batch (if anything) is cut off again, so
		// that the file ends at a record boundary; the client resends.
		s.streams.forget(id + "/" + stream)
		return 0, fmt.Errorf("append to %s: %w", filepath.Join(dir, stream), err)
	}
	return size + int64(len(body)), nil
}

// checkBatch refuses a batch that is not whole records of the run's log
// (whole lines of training.log) or, at the start of a file, whose first
// record is not a header of this run.
func checkBatch(id, stream string, size int64, body []byte) error {
	n, err := remote.Complete(stream, body, size)
	if err != nil {
		return badRequest("batch at offset %d is not a run log: %v", size, err)
	}
	if n != len(body) {
		return badRequest("batch at offset %d does not end at a record boundary (%d of %d bytes are whole records)", size, n, len(body))
	}
	if size > 0 || remote.IsText(stream) {
		return nil
	}
	rd := runfmt.NewReader(bytes.NewReader(body), stream)
	rec, err := rd.Next()
	var h runfmt.Header
	if err != nil || rec.Type != runfmt.TypeHeader || rec.DecodeJSON(&h) != nil || h.ID != id {
		return badRequest("%s of run %s must start with the run's header record", stream, id)
	}
	return nil
}

// sameBytes checks that the bytes of the stream's file at offset are want:
// a batch overlapping what the server holds must repeat it, or it belongs
// to another run with the same id.
func sameBytes(d *runfs.Dir, stream string, offset int64, want []byte) error {
	f, _, err := d.Open(stream)
	if err != nil {
		return err
	}
	defer f.Close()
	got := make([]byte, len(want))
	if _, err := f.ReadAt(got, offset); err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return badRequest("bytes from offset %d differ from the server's copy of %s: another run with the same id?", offset, stream)
	}
	return nil
}

// appendSync appends data to the file name in the run folder dir,
// creating it and the folder if needed, and syncs it (and a new folder
// entry) to disk. The file is opened through runfs: a link that leads out
// of the folder is refused.
func appendSync(dir, name string, data []byte) error {
	_, derr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if errors.Is(derr, fs.ErrNotExist) {
		if err := atomicfile.SyncDir(filepath.Dir(dir)); err != nil {
			return err
		}
	}
	d, err := runfs.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	f, created, err := d.OpenAppend(name)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && created {
		err = atomicfile.SyncDir(dir)
	}
	return err
}

// streamLocks serializes the batches of each stream and remembers the
// streams whose ends were checked since the server started.
type streamLocks struct {
	mu      sync.Mutex
	locks   map[string]*sync.Mutex
	checked map[string]bool
}

// lock locks the stream named key and returns its unlock.
func (l *streamLocks) lock(key string) func() {
	l.mu.Lock()
	if l.locks == nil {
		l.locks, l.checked = map[string]*sync.Mutex{}, map[string]bool{}
	}
	m, ok := l.locks[key]
	if !ok {
		m = &sync.Mutex{}
		l.locks[key] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// forget makes the next batch of a stream check its end again.
func (l *streamLocks) forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.checked, key)
}

// size returns the size of a stream's file. The first time after the
// server started (or after a failed append) it cuts off bytes at the end
// that are not a whole record: what a server killed in the middle of an
// append left, which the client was never told was received.
func (l *streamLocks) size(r *http.Request, s *Server, d *runfs.Dir, id, stream string) (int64, error) {
	if d == nil {
		return 0, nil // the run's folder is not there yet
	}
	fi, err := d.Stat(stream)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, nil
	case errors.Is(err, runfs.ErrOutside):
		return 0, badRequest("%s of run %s is a link that leads outside the run folder", stream, id)
	case err != nil:
		return 0, err
	case !fi.Mode().IsRegular():
		return 0, badRequest("%s of run %s is not a file", stream, id)
	}
	key := id + "/" + stream
	l.mu.Lock()
	checked := l.checked[key]
	l.mu.Unlock()
	if checked {
		return fi.Size(), nil
	}
	from := int64(0)
	if !remote.IsText(stream) {
		if cur, err := s.db.Cursor(r.Context(), id, stream); err == nil && cur.Offset <= fi.Size() {
			from = cur.Offset // indexed: whole records up to there
		}
	}
	end, err := wholeEnd(d, stream, from)
	if err != nil {
		return 0, err
	}
	if end < fi.Size() {
		s.opts.Logf("runlog: run %s %s: cutting off %d bytes of an incomplete batch (the server stopped while receiving it)", id, stream, fi.Size()-end)
		if err := d.Truncate(stream, end); err != nil {
			return 0, err
		}
	}
	l.mu.Lock()
	l.checked[key] = true
	l.mu.Unlock()
	return end, nil
}

// wholeEnd returns the offset after the last whole record (line) of a
// stream's file, reading from from, a record boundary.
func wholeEnd(d *runfs.Dir, stream string, from int64) (int64, error) {
	f, _, err := d.Open(stream)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var buf []byte
	for {
		batch, err := remote.ReadBatch(f, stream, from, buf)
		if err != nil {
			return 0, err
		}
		if len(batch) == 0 {
			return from, nil
		}
		from += int64(len(batch))
		buf = batch[:cap(batch)]
	}
}
