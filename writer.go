package runlog

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// fileWriter is what the background writer needs of the run.log file.
type fileWriter interface {
	Write([]byte) (int, error)
	Sync() error
	Close() error
}

// writer owns the run.log file. One goroutine writes buffered records to it
// at every flush interval, when the buffer grows past flushSize, and at
// Finish; the training goroutines never wait for it.
type writer struct {
	f     fileWriter
	kickC chan struct{}
	stopC chan struct{}
	doneC chan struct{}
	spare []byte

	mu     sync.Mutex
	warned bool
}

func newWriter(f fileWriter) *writer {
	return &writer{f: f, kickC: make(chan struct{}, 1), stopC: make(chan struct{}), doneC: make(chan struct{})}
}

// start runs the background writer of r, and its streamer and uploader
// if it streams to a server.
func (r *Run) start() {
	go r.w.loop(r)
	if r.stream != nil {
		r.stream.start()
		if r.uploads = newUploader(r.opts, r.stream, r.id, r.dir); r.uploads != nil {
			r.uploads.start()
		}
	}
}

// kick asks for a write soon without waiting.
func (w *writer) kick() {
	select {
	case w.kickC <- struct{}{}:
	default:
	}
}

func (w *writer) loop(r *Run) {
	defer close(w.doneC)
	tick := time.NewTicker(r.opts.FlushInterval)
	defer tick.Stop()
	lastBeat := time.Now()
	for {
		select {
		case <-tick.C:
			if time.Since(lastBeat) >= r.opts.HeartbeatInterval {
				r.heartbeat()
				lastBeat = time.Now()
			}
			w.flush(r, true)
		case <-w.kickC:
			w.flush(r, false)
		case <-w.stopC:
			return
		}
	}
}

// flush writes what r has buffered; with sync it also syncs the file so the
// records survive a power cut, not only a crash of the program.
func (w *writer) flush(r *Run, sync bool) error {
	b := r.take(w.spare)
	if len(b) > 0 {
		n, err := w.f.Write(b)
		if n > 0 && r.stream != nil {
			r.stream.wrote(n)
		}
		if err != nil {
			r.giveBack(b[n:]) // copies, so b can be reused
			w.spare = b[:0]
			w.fail(fmt.Errorf("write %s: %w", r.dir, err))
			return err
		}
	}
	w.spare = b[:0]
	if sync && len(b) > 0 {
		if err := w.f.Sync(); err != nil {
			w.fail(fmt.Errorf("sync %s: %w", r.dir, err))
			return err
		}
	}
	return nil
}

// fail warns once on stderr about err: the training goes on.
func (w *writer) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.warned {
		w.warned = true
		fmt.Fprintf(os.Stderr, "runlog: %v; training continues, records stay in memory (up to %d MiB) and are retried\n", err, maxBuffer>>20)
	}
}

// close stops the background writer, writes the rest, syncs and closes the
// file. It returns an error if records could not be written.
func (w *writer) close(r *Run) error {
	close(w.stopC)
	<-w.doneC
	err := w.flush(r, true)
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", r.dir, cerr)
	}
	if err == nil {
		return nil
	}
	if rest := len(r.take(nil)); rest > 0 {
		return fmt.Errorf("runlog: %w (%d bytes of records could not be written)", err, rest)
	}
	return fmt.Errorf("runlog: %w", err)
}
