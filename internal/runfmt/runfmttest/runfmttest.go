// Package runfmttest builds run.log files for tests, record by record with
// chosen times, so that what tests index, chart and compare is the same on
// every machine. The records are encoded by runfmt.Encoder, as every
// writer's are.
//
//	runfmttest.New(runfmt.Header{ID: "run1", Time: t0}).
//		Config(`{"lr":0.01}`).
//		Point(0, t0+1, "train_loss", 4.0, "lr", 0.01).
//		Finish(t0+2).
//		WriteRun(t, home, "run1")
//
// A value that cannot be encoded (an invalid key, JSON that cannot be
// marshalled) is a mistake in the test: the builder panics.
package runfmttest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

// Log is a run.log being built in memory.
type Log struct {
	enc *runfmt.Encoder
}

// New starts a log with its magic and header h; a Format of 0 is taken
// for 1.
func New(h runfmt.Header) *Log {
	if h.Format == 0 {
		h.Format = 1
	}
	l := &Log{enc: runfmt.NewEncoder(0, nil)}
	must(l.enc.Begin(h))
	return l
}

// Continue starts the bytes that continue a log whose last record has
// sequence number lastSeq and whose keys are keys (name to id), to be
// appended to it (AppendFile).
func Continue(lastSeq uint64, keys map[string]uint32) *Log {
	return &Log{enc: runfmt.NewEncoder(lastSeq, keys)}
}

func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("runfmttest: %v", err))
	}
}

// Seq returns the sequence number of the last record.
func (l *Log) Seq() uint64 { return l.enc.Seq() }

// Bytes returns the log's bytes.
func (l *Log) Bytes() []byte { return l.enc.Bytes() }

// JSON appends a record of type t with v as its JSON payload.
func (l *Log) JSON(t runfmt.Type, v any) *Log {
	must(l.enc.JSON(t, v))
	return l
}

// Record appends a record of type t with the payload as it is: JSON
// written by hand, a payload a reader must refuse, a type from the future.
func (l *Log) Record(t runfmt.Type, payload []byte) *Log {
	l.enc.Record(t, payload)
	return l
}

// Config appends a config record whose JSON is raw.
func (l *Log) Config(raw string) *Log { return l.Record(runfmt.TypeConfig, []byte(raw)) }

// Key returns the id of key, appending its key record if it is new.
func (l *Log) Key(key string) uint32 {
	id, err := l.enc.Key(key)
	must(err)
	return id
}

// Point appends the values kv at step and time tm, as one metrics record:
// kv alternates keys (string) and values (float64). New keys are defined
// first, in the order given.
func (l *Log) Point(step int64, tm float64, kv ...any) *Log {
	ids := make([]uint32, 0, len(kv)/2)
	vals := make([]float64, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ids = append(ids, l.Key(kv[i].(string)))
		vals = append(vals, kv[i+1].(float64))
	}
	return l.Pairs(step, tm, ids, vals)
}

// Metrics appends values at step and time tm, as one metrics record with
// the keys in name order.
func (l *Log) Metrics(step int64, tm float64, values map[string]float64) *Log {
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	slices.Sort(names)
	kv := make([]any, 0, 2*len(names))
	for _, k := range names {
		kv = append(kv, k, values[k])
	}
	return l.Point(step, tm, kv...)
}

// Pairs appends a metrics record with the key ids as given, defined or
// not, and any step and time: what a faulty writer might write.
func (l *Log) Pairs(step int64, tm float64, ids []uint32, values []float64) *Log {
	l.enc.Metrics(step, tm, ids, values)
	return l
}

// Status appends a status record.
func (l *Log) Status(status string, tm float64) *Log {
	return l.JSON(runfmt.TypeStatus, runfmt.Status{Status: status, Time: tm})
}

// Finish appends the status record of a run that finished with exit code
// 0 at time tm.
func (l *Log) Finish(tm float64) *Log {
	code := 0
	return l.JSON(runfmt.TypeStatus, runfmt.Status{Status: runfmt.StatusFinished, Time: tm, ExitCode: &code})
}

// Event appends an event record.
func (l *Log) Event(ev runfmt.Event) *Log { return l.JSON(runfmt.TypeEvent, ev) }

// WriteRun writes the log as the run.log of run id in home, creating its
// folder.
func (l *Log) WriteRun(tb testing.TB, home, id string) *Log {
	tb.Helper()
	dir := layout.RunDir(home, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return l.WriteFile(tb, filepath.Join(dir, layout.RunLogFile))
}

// WriteFile writes the log to the file at path, replacing it.
func (l *Log) WriteFile(tb testing.TB, path string) *Log {
	tb.Helper()
	if err := os.WriteFile(path, l.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return l
}

// AppendFile appends the log's bytes to the file at path, creating it.
func (l *Log) AppendFile(tb testing.TB, path string) *Log {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = f.Write(l.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	return l
}
