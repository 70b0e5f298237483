package tbimport

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

// logWriter appends an imported run's records to its run.log, of which the
// importer is the only writer. The file is created with the first event,
// whose time starts the run.
type logWriter struct {
	dir     string
	f       *os.File
	size    int64           // bytes in the file, buffer not included
	enc     *runfmt.Encoder // sequence numbers, keys and the buffer
	spare   []byte          // storage for the encoder's next buffer
	header  runfmt.Header
	plugins map[string]string
	// The reading goroutine numbers the run's tags in tagIndex; tagNames
	// and tagIDs hold their names and key ids by those numbers.
	tagIndex map[string]int32
	tagNames []string
	tagIDs   []int64
	last     float64 // the latest wall time
	start    float64 // the wall time of the first event, scalars or not

	points, pointsBefore int64
	values               int64             // texts, images and histograms written
	media                runfmt.MediaFiles // the run's media files, Dir set by openLog
	// Values runlog cannot keep, reported once per run.
	badSteps, badTimes, badEvents int
	badValues                     int // texts, images and histograms
	badKeys                       map[string]bool
}

// flushSize is how much a writer buffers before it writes.
const flushSize = 4 << 20

// openLog opens the run.log of an imported run for appending. With no
// cursor, a run.log left by an import that died before writing its first
// cursor is started again; with one, anything after the size it records
// was appended by an import that died before its cursor, and is cut off,
// and the log continues with the cursor's sequence number and keys. The
// importer is the log's only writer: it takes no lock, and trusts its
// cursor rather than reading the log.
func openLog(dir string, cur *cursor) (*logWriter, error) {
	w := &logWriter{dir: dir, badKeys: map[string]bool{}, tagIndex: map[string]int32{}, enc: runfmt.NewEncoder(0, nil),
		media: runfmt.MediaFiles{Dir: dir}}
	if cur != nil {
		w.enc = runfmt.NewEncoder(cur.Seq, cur.Keys)
	}
	path := filepath.Join(dir, layout.RunLogFile)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if cur != nil {
			return nil, fmt.Errorf("%s has a cursor but no run.log: delete %s to import the run again", dir, CursorFile)
		}
		return w, nil
	case err != nil:
		return nil, err
	case cur == nil:
		if err := os.Remove(path); err != nil {
			return nil, err
		}
		return w, nil
	case fi.Size() < cur.RunLog:
		return nil, fmt.Errorf("%s is shorter (%d bytes) than its last import left it (%d bytes): delete the run folder to import it again", path, fi.Size(), cur.RunLog)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if fi.Size() > cur.RunLog {
		if err := f.Truncate(cur.RunLog); err != nil {
			f.Close()
			return nil, fmt.Errorf("cut %s back to its last import: %w", path, err)
		}
	}
	w.f, w.size = f, cur.RunLog
	return w, nil
}

// create creates run.log, with its header at time t.
func (w *logWriter) create(t float64) error {
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(w.dir, layout.RunLogFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	w.f = f
	if w.start > 0 && w.start <= t && runfmt.CheckTime(w.start) == nil {
		t = w.start
	}
	w.header.Time = t
	return w.enc.Begin(w.header)
}

func (w *logWriter) json(t runfmt.Type, v any) error {
	return w.enc.JSON(t, v)
}

// batch appends the events of a batch, each as one metrics record, after
// key records for new tags.
func (w *logWriter) batch(b *batch) error {
	w.badEvents += b.bad
	w.badValues += b.badRich
	if w.start == 0 && b.start != 0 {
		w.start = b.start
	}
	for _, t := range b.tags {
		w.tagNames = append(w.tagNames, t)
		w.tagIDs = append(w.tagIDs, tagPending)
	}
	vals := b.values
	for _, ev := range b.events {
		vs := vals[:ev.n]
		vals = vals[ev.n:]
		if err := w.event(ev, vs); err != nil {
			return err
		}
	}
	return nil
}

// Key ids of tags not yet given one, and of tags runlog cannot keep.
const (
	tagPending = -1
	tagBad     = -2
)

// event appends one event as a metrics record.
func (w *logWriter) event(ev batchEvent, vs []batchValue) error {
	if ev.step < 0 {
		w.badSteps += len(vs)
		return nil
	}
	if runfmt.CheckTime(ev.wall) != nil {
		w.badTimes += len(vs)
		return nil
	}
	if w.f == nil {
		if err := w.create(ev.wall); err != nil {
			return err
		}
	}
	for _, rv := range ev.rich {
		if err := w.rich(ev.step, ev.wall, rv); err != nil {
			return err
		}
		w.last = max(w.last, ev.wall)
	}
	n := 0
	for _, v := range vs {
		if w.tagIDs[v.tag] == tagPending {
			w.defineKey(v.tag)
		}
		if w.tagIDs[v.tag] >= 0 {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	w.enc.StartMetrics(ev.step, ev.wall)
	for _, v := range vs {
		if id := w.tagIDs[v.tag]; id >= 0 {
			w.enc.Pair(uint32(id), v.v)
		}
	}
	w.enc.FinishMetrics()
	w.points += int64(n)
	w.last = max(w.last, ev.wall)
	if w.enc.Len() >= flushSize {
		return w.write()
	}
	return nil
}

// defineKey gives tag i its key id, writing a key record if the run.log
// has none for it yet.
func (w *logWriter) defineKey(i int32) {
	key := w.tagNames[i]
	id, err := w.enc.Key(key)
	if err != nil {
		w.tagIDs[i] = tagBad
		w.badKeys[key] = true
		return
	}
	w.tagIDs[i] = int64(id)
}

// write writes the buffer to the file.
func (w *logWriter) write() error {
	if w.enc.Len() == 0 {
		return nil
	}
	b := w.enc.Take(w.spare)
	n, err := w.f.Write(b)
	w.size += int64(n)
	w.spare = b
	if err != nil {
		return fmt.Errorf("write %s: %w", w.f.Name(), err)
	}
	return nil
}

// sync writes what is buffered and syncs the file.
func (w *logWriter) sync() error {
	if w.f == nil {
		return nil
	}
	if err := w.write(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", w.f.Name(), err)
	}
	return nil
}

func (w *logWriter) close() {
	if w.f != nil {
		w.f.Close()
	}
}

// flushWarnings reports the values the run could not keep.
func (w *logWriter) flushWarnings(warn func(error), src string) {
	if w.badSteps > 0 {
		warn(fmt.Errorf("%s: skipped %d values with negative steps (runlog's steps start at 0)", src, w.badSteps))
	}
	if w.badTimes > 0 {
		warn(fmt.Errorf("%s: skipped %d values whose wall time is not a unix time", src, w.badTimes))
	}
	if w.badValues > 0 {
		warn(fmt.Errorf("%s: skipped %d texts, images or histograms that could not be read (an image that is not a PNG, JPEG or GIF, or over %d pixels; a histogram with non-finite edges)", src, w.badValues, runfmt.MaxImagePixels))
	}
	if w.badEvents > 0 {
		warn(fmt.Errorf("%s: skipped %d events whose protocol buffers could not be decoded", src, w.badEvents))
	}
	for k := range w.badKeys {
		warn(fmt.Errorf("%s: skipped the values of tag %.60q: %v", src, k, runfmt.CheckKey(k)))
	}
}
