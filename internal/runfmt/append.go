package runfmt

import (
	"fmt"
	"io"
	"os"
)

// AppendOptions say how an Appender opens its log.
type AppendOptions struct {
	// Create, if not nil, starts a log in a file that is missing or holds
	// no record: Magic and a header record for the header Create returns.
	// Without it the file must be a log already.
	Create func() Header
	// Visit, if not nil, sees every good record of the log, in order, each
	// time the appender reads it from the start: at the first Open, and at
	// an Open after another process appended to the file.
	Visit func(Record)
	// Reset, if not nil, is called before each such read, and before the
	// appender creates the log: what Visit saw before no longer holds.
	Reset func()
}

// Appender appends records to a run.log that several processes may write
// one after another (docs/run-log-format.md, "Several writers"). From Open
// to Close it holds an exclusive lock on the file (LockFile). Open reads
// the log to learn its last sequence number and key ids, cutting off a
// torn tail left by a writer that was killed, unless the file is as this
// appender left it; records are encoded with Encoder and written, synced,
// by Flush.
//
// An Appender is not safe for concurrent use.
type Appender struct {
	path   string
	opts   AppendOptions
	f      *os.File // nil while closed
	unlock func()
	enc    *Encoder // nil until the log was read
	end    int64    // offset just after the last good record
	state  State
}

// NewAppender returns an appender of the log at path, closed.
func NewAppender(path string, opts AppendOptions) *Appender {
	return &Appender{path: path, opts: opts}
}

// OpenAppend opens the log at path for appending: it returns an appender
// positioned after the log's last good record, holding the file's lock
// until Close.
func OpenAppend(path string, opts AppendOptions) (*Appender, error) {
	a := NewAppender(path, opts)
	if err := a.Open(); err != nil {
		return nil, err
	}
	return a, nil
}

// Path returns the file's path.
func (a *Appender) Path() string { return a.path }

// Open opens the file and waits for its exclusive lock. It then reads the
// log, unless it ends where this appender's last Flush left it: another
// process may have appended since, or a writer died mid-record, leaving a
// torn tail that Open cuts off.
func (a *Appender) Open() error {
	if a.f != nil {
		return fmt.Errorf("runfmt: %s is open already", a.path)
	}
	flag := os.O_RDWR
	if a.opts.Create != nil {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(a.path, flag, 0o644)
	if err != nil {
		return err
	}
	unlock, err := LockFile(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("lock %s: %w", a.path, err)
	}
	a.f, a.unlock = f, unlock
	if err := a.load(); err != nil {
		a.enc = nil // read it again next time
		a.Close()
		return err
	}
	return nil
}

// load brings the appender up to date with the locked file.
func (a *Appender) load() error {
	fi, err := a.f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if a.enc != nil && size == a.end {
		return nil
	}
	if size > 0 {
		if a.opts.Reset != nil {
			a.opts.Reset()
		}
		if _, err := a.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		st, err := scan(a.f, a.path, a.opts.Visit)
		if err != nil {
			return err
		}
		if st.End > int64(len(Magic)) {
			if size > st.End { // a torn tail: a writer died mid-record
				if err := a.f.Truncate(st.End); err != nil {
					return fmt.Errorf("cut torn tail of %s: %w", a.path, err)
				}
			}
			a.enc = newEncoder(st.LastSeq, st.Keys, st.NextKey)
			a.end, a.state = st.End, st
			return nil
		}
	}
	if a.opts.Create == nil {
		return fmt.Errorf("%s holds no record: its header is lost", a.path)
	}
	return a.create()
}

// create starts the log in the file, which holds no record, synced: the
// log exists even if the caller then writes nothing.
func (a *Appender) create() error {
	if a.opts.Reset != nil {
		a.opts.Reset()
	}
	h := a.opts.Create()
	enc := NewEncoder(0, nil)
	if err := enc.Begin(h); err != nil {
		return err
	}
	err := a.f.Truncate(0)
	if err == nil {
		_, err = a.f.WriteAt(enc.Bytes(), 0)
	}
	if err == nil {
		err = a.f.Sync()
	}
	if err != nil {
		a.f.Truncate(0)
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	a.end = int64(enc.Len())
	enc.flushed()
	a.enc = enc
	a.state = State{Header: h, Keys: map[string]uint32{}, LastSeq: enc.Seq(), LastStep: -1, Status: StatusRunning, End: a.end}
	return nil
}

// Encoder returns the encoder of the log's records, valid until Close;
// Open may replace it, when the log changed. Records encoded with it are
// written by Flush. Its Commit and Take are Flush's: do not call them.
func (a *Appender) Encoder() *Encoder { return a.enc }

// State returns what the last read of the log found (or, for a log that
// Open created, its header). Records appended since are not in it.
func (a *Appender) State() State { return a.state }

// End returns the offset just after the log's last good record, where the
// next record goes.
func (a *Appender) End() int64 { return a.end }

// Flush appends the records encoded since the last Flush to the file and
// syncs it. If it cannot, it leaves the file as it was, drops the records
// and returns the error.
func (a *Appender) Flush() error {
	if a.f == nil {
		return fmt.Errorf("runfmt: flush %s: not open", a.path)
	}
	b := a.enc.Bytes()
	if len(b) == 0 {
		return nil
	}
	n, err := a.f.WriteAt(b, a.end)
	if err == nil {
		err = a.f.Sync()
	}
	if err != nil {
		// Leave no part of a record behind: the next append would follow
		// it. Should this fail too, the next Open cuts it off.
		a.f.Truncate(a.end)
		a.enc.Rollback()
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	a.end += int64(n)
	a.enc.flushed()
	return nil
}

// Close drops the records not flushed, releases the lock and closes the
// file. The appender may be opened again.
func (a *Appender) Close() error {
	if a.f == nil {
		return nil
	}
	if a.enc != nil {
		a.enc.Rollback()
	}
	a.unlock()
	err := a.f.Close()
	a.f, a.unlock = nil, nil
	return err
}
