package runner

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"sync"
	"time"
)

// trainingLog is training.log: the child's output, a line at a time, each
// line as "<UTC time>\t<stdout|stderr>\t<text>", so that it reads well and
// splits easily.
type trainingLog struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

func openTrainingLog(path string) (*trainingLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &trainingLog{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (l *trainingLog) line(t time.Time, stream string, text []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.WriteString(t.UTC().Format("2006-01-02T15:04:05.000Z"))
	l.w.WriteByte('\t')
	l.w.WriteString(stream)
	l.w.WriteByte('\t')
	l.w.Write(text)
	l.w.WriteByte('\n')
}

// flush writes buffered lines to the file.
func (l *trainingLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
}

func (l *trainingLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	return l.f.Close()
}

// terminal serializes what the runner and the child write to the user's
// terminal, so that the status line can be cleared before output and drawn
// again after it.
type terminal struct {
	mu       sync.Mutex
	out, err io.Writer
	status   bool   // a status line is on screen, on err
	atBOL    bool   // the last byte written ended a line
	line     string // the status line shown
	enabled  bool   // draw a status line at all
}

func (t *terminal) write(w io.Writer, p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clearLocked()
	w.Write(p)
	if len(p) > 0 {
		t.atBOL = p[len(p)-1] == '\n'
	}
}

// setStatus shows s as the status line, unless output is in the middle of
// a line.
func (t *terminal) setStatus(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Under the lock: the watcher may draw once more as finish turns it off.
	if !t.enabled {
		return
	}
	t.line = s
	if !t.atBOL {
		return
	}
	t.clearLocked()
	io.WriteString(t.err, s)
	t.status = true
}

func (t *terminal) clearLocked() {
	if t.status {
		io.WriteString(t.err, "\r\x1b[K")
		t.status = false
	}
}

// finish clears the status line for good.
func (t *terminal) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clearLocked()
	t.enabled = false
}

// capture copies one output stream of the child to the terminal as it
// comes, and line by line to training.log and to onLine. A line rewritten
// with carriage returns, as progress bars do, is logged as it last stood.
func capture(r io.Reader, stream string, echo io.Writer, term *terminal, log *trainingLog, onLine func([]byte)) {
	buf := make([]byte, 32<<10)
	var pending []byte
	for {
		n, err := r.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			term.write(echo, chunk)
			now := time.Now()
			pending = append(pending, chunk...)
			start := 0
			for {
				i := bytes.IndexByte(pending[start:], '\n')
				if i < 0 {
					break
				}
				line := lastCR(bytes.TrimRight(pending[start:start+i], "\r"))
				log.line(now, stream, line)
				onLine(line)
				start += i + 1
			}
			pending = append(pending[:0], pending[start:]...)
			if len(pending) > 1<<20 { // a line without end: log it in pieces
				log.line(now, stream, lastCR(pending))
				pending = pending[:0]
			}
		}
		if err != nil {
			if len(pending) > 0 {
				line := lastCR(pending)
				log.line(time.Now(), stream, line)
				onLine(line)
			}
			return
		}
	}
}

// lastCR returns what a terminal would show of a line that carriage
// returns rewrote: the text after the last one.
func lastCR(line []byte) []byte {
	if i := bytes.LastIndexByte(line, '\r'); i >= 0 {
		return line[i+1:]
	}
	return line
}
