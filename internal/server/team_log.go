package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
)

// attachedLog is the stream the MLflow API appends to for a run that it did
// not create (internal/mlflow's name for it).
const attachedLog = "run.mlflow.log"

// teamLog is a log stream of a run in PostgreSQL that a replica appends
// records to: the MLflow API's (team_mlflow.go) and the annotations'
// (teamAnnotate). It keeps what it learnt when it last read the stream: where
// it ends, its last sequence number and its keys; when the stream grew
// behind its back, it reads what was added.
type teamLog struct {
	s       *Server
	id      string
	stream  string
	primary bool
	opts    runfmt.AppendOptions

	read    bool // what follows holds
	end     int64
	lastSeq uint64
	keys    map[string]uint32
}

func (l *teamLog) Primary() bool { return l.primary }

func (l *teamLog) check(size int64, body []byte) error { return checkBatch(l.id, l.stream, size, body) }

// maxAppendTries bounds how often an append is encoded again after
// another replica appended first.
const maxAppendTries = 8

// Append encodes build's records after the stream's and appends them at
// the stream's size; when another replica appended first, it reads the
// stream again and encodes again.
func (l *teamLog) Append(ctx context.Context, build func(*runfmt.Encoder) error) error {
	for try := 1; ; try++ {
		if err := l.load(ctx); err != nil {
			return err
		}
		enc := runfmt.NewEncoder(l.lastSeq, l.keys)
		if l.end == 0 {
			if l.opts.Create == nil {
				return fmt.Errorf("run %s has no %s", l.id, l.stream)
			}
			if err := enc.Begin(l.opts.Create()); err != nil {
				return err
			}
		}
		start := enc.Len()
		if err := build(enc); err != nil {
			return err
		}
		if enc.Len() == start {
			return nil // nothing to write
		}
		data := enc.Bytes()
		size, err := l.s.team.AppendLog(ctx, l.id, l.stream, l.end, data, l.check)
		var gap *postgres.GapError
		if errors.Is(err, postgres.ErrLogDiffers) || errors.As(err, &gap) {
			// Another replica appended meanwhile: read what it added.
			if try < maxAppendTries {
				continue
			}
			// The client retries a store that is busy (503).
			return fmt.Errorf("append to %s of run %s: %w: other replicas appended first %d times: %w", l.stream, l.id, store.ErrConflict, try, err)
		}
		if err != nil {
			return fmt.Errorf("append to %s of run %s: %w", l.stream, l.id, err)
		}
		if size != l.end+int64(len(data)) {
			l.read = false // the stream held these bytes already: read it again
			return nil
		}
		// What it appended is seen as the records read from the stream
		// are, so that the log knows its own keys when it reads what other
		// replicas append with them.
		if err := l.visit(data, l.end); err != nil {
			return err
		}
		l.end, l.lastSeq, l.keys = size, enc.Seq(), enc.Keys()
		return nil
	}
}

// visit shows opts' Visit the records of data, the stream's bytes from
// offset from on.
func (l *teamLog) visit(data []byte, from int64) error {
	if l.opts.Visit == nil {
		return nil
	}
	rd := runfmt.NewReaderAt(bytes.NewReader(data), l.stream, from)
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read back %s of run %s: %w", l.stream, l.id, err)
		}
		l.opts.Visit(rec)
	}
}

// load brings the log up to date with the stream: the records appended
// since it last read it (by other replicas) are read, and opts' Visit sees
// each; the first time, every record from the start, after opts' Reset.
// A stream only grows and its bytes never change, so what was read stays
// true.
func (l *teamLog) load(ctx context.Context) error {
	sizes, err := l.s.team.LogSizes(ctx, l.id)
	if err != nil {
		return err
	}
	size := sizes[l.stream]
	if l.read && size == l.end {
		return nil
	}
	if !l.read || size < l.end {
		if l.opts.Reset != nil {
			l.opts.Reset()
		}
		l.end, l.lastSeq, l.keys = 0, 0, map[string]uint32{}
	}
	l.read = false // until it is read whole
	if size > l.end {
		r := l.s.team.OpenLog(ctx, l.id, l.stream, l.end)
		defer r.Close()
		rd := runfmt.NewReaderAt(bufio.NewReaderSize(io.LimitReader(r, size-l.end), 1<<16), l.stream, l.end)
		for {
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("read %s of run %s: %w", l.stream, l.id, err)
			}
			if l.opts.Visit != nil {
				l.opts.Visit(rec)
			}
			l.lastSeq = max(l.lastSeq, rec.Seq)
			if rec.Type == runfmt.TypeKey {
				if id, name, err := rec.Key(); err == nil {
					l.keys[name] = id
				}
			}
		}
		if rd.Torn() > 0 || len(rd.Skipped()) > 0 || rd.Offset() != size {
			return fmt.Errorf("%s of run %s is not whole records", l.stream, l.id)
		}
	}
	l.end, l.read = size, true
	return nil
}

// Index indexes the run from its logs in PostgreSQL, which tells every
// replica.
func (l *teamLog) Index(ctx context.Context) error {
	if err := l.s.teamIndex(ctx, l.id); err != nil {
		return err
	}
	l.s.teamChanged(ctx, l.id) // this replica's caches at once; the others by NOTIFY
	return nil
}
