package runfmt

import (
	"fmt"
	"maps"
)

// Encoder encodes the records of one run.log into a buffer. It keeps what
// a writer of the file must keep: the sequence number of the last record,
// and the ids of the metric keys, which it defines with a key record before
// their first use. It does no I/O: its user writes the bytes it encoded
// (Bytes, Take), or an Appender does.
//
// Records encoded since the last Commit can be dropped with Rollback, which
// also gives back the sequence numbers and key ids they took: a writer that
// could not write them encodes them again later, and a log never holds a
// gap or a key id defined twice.
//
// The zero Encoder is ready to begin a new log. An Encoder is not safe for
// concurrent use.
type Encoder struct {
	buf     []byte
	seq     uint64            // of the last record encoded
	keys    map[string]uint32 // key name to id
	nextKey uint32            // the id the next new key gets
	metrics int               // start of the metrics record being encoded

	// The state at the last Commit, which Rollback returns to.
	commitLen     int
	commitSeq     uint64
	commitNextKey uint32
}

// NewEncoder returns an encoder that continues a log whose last record has
// sequence number lastSeq and whose key records define keys (name to id);
// new keys get ids after the largest. For a new log, pass 0 and nil and
// start it with Begin. NewEncoder does not keep keys: it copies it.
func NewEncoder(lastSeq uint64, keys map[string]uint32) *Encoder {
	var next uint32
	for _, id := range keys {
		next = max(next, id+1)
	}
	return newEncoder(lastSeq, keys, next)
}

func newEncoder(lastSeq uint64, keys map[string]uint32, nextKey uint32) *Encoder {
	k := maps.Clone(keys)
	if k == nil {
		k = map[string]uint32{}
	}
	return &Encoder{seq: lastSeq, keys: k, nextKey: nextKey, commitSeq: lastSeq, commitNextKey: nextKey}
}

// Seq returns the sequence number of the last record encoded.
func (e *Encoder) Seq() uint64 { return e.seq }

// Keys returns a copy of the key ids, by name.
func (e *Encoder) Keys() map[string]uint32 { return maps.Clone(e.keys) }

// Len returns the number of bytes encoded and not yet taken.
func (e *Encoder) Len() int { return len(e.buf) }

// Bytes returns the bytes encoded and not yet taken. They stay the
// encoder's: the slice is valid until the next call that encodes.
func (e *Encoder) Bytes() []byte { return e.buf }

// Begin starts a new log: it appends Magic and a header record for h. The
// encoder must not have encoded a record before.
func (e *Encoder) Begin(h Header) error {
	if e.seq != 0 {
		return fmt.Errorf("runfmt: Begin after record %d: a header starts a log", e.seq)
	}
	n := len(e.buf)
	e.buf = append(e.buf, Magic...)
	if err := e.JSON(TypeHeader, h); err != nil {
		e.buf = e.buf[:n]
		return err
	}
	return nil
}

// JSON appends a record of type t whose payload is v as JSON (MarshalJSON).
// If v cannot be encoded, nothing is appended.
func (e *Encoder) JSON(t Type, v any) error {
	buf, err := appendJSON(e.buf, t, e.seq+1, v)
	if err != nil {
		return err
	}
	e.seq++
	e.buf = buf
	return nil
}

// Record appends a record of type t with the given payload, as it is.
func (e *Encoder) Record(t Type, payload []byte) {
	e.seq++
	e.buf = appendRecord(e.buf, t, e.seq, payload)
}

// Key returns the id of the metric key name. A key not seen before gets the
// next id, and a key record that defines it is appended; a key that may not
// be logged (CheckKey) is refused.
func (e *Encoder) Key(name string) (id uint32, err error) {
	// Written to stay within the inliner's budget: a client calls it for
	// every value it logs.
	id, ok := e.keys[name]
	if !ok {
		id, err = e.defineKey(name)
	}
	return id, err
}

func (e *Encoder) defineKey(name string) (uint32, error) {
	if err := CheckKey(name); err != nil {
		return 0, err
	}
	if e.keys == nil {
		e.keys = map[string]uint32{}
	}
	id := e.nextKey
	e.nextKey++
	e.keys[name] = id
	e.seq++
	e.buf = appendKey(e.buf, e.seq, id, name)
	return id, nil
}

// Metrics appends a metrics record: values[i] for key ids[i], all at the
// given step and time. The ids must come from Key.
func (e *Encoder) Metrics(step int64, time float64, ids []uint32, values []float64) {
	e.seq++
	e.buf = appendMetrics(e.buf, e.seq, step, time, ids, values)
}

// StartMetrics starts a metrics record at the given step and time; Pair
// appends its values and FinishMetrics ends it. Keys must be defined (Key)
// before StartMetrics: no record can come between it and FinishMetrics.
// This is the hot path of a client that logs from a map without building
// slices.
func (e *Encoder) StartMetrics(step int64, time float64) {
	e.seq++
	e.buf, e.metrics = startMetrics(e.buf, e.seq, step, time)
}

// Pair appends the value v of key id to the metrics record being encoded.
func (e *Encoder) Pair(id uint32, v float64) { e.buf = appendPair(e.buf, id, v) }

// FinishMetrics ends the metrics record StartMetrics began.
func (e *Encoder) FinishMetrics() { e.buf = finishRecord(e.buf, e.metrics) }

// Heartbeat appends a heartbeat record.
func (e *Encoder) Heartbeat(time float64) {
	e.seq++
	e.buf = appendHeartbeat(e.buf, e.seq, time)
}

// Commit keeps the records encoded so far: Rollback no longer drops them.
func (e *Encoder) Commit() {
	e.commitLen, e.commitSeq, e.commitNextKey = len(e.buf), e.seq, e.nextKey
}

// Rollback drops the records encoded since the last Commit (or Take), and
// forgets the sequence numbers and keys they took.
func (e *Encoder) Rollback() {
	e.buf = e.buf[:e.commitLen]
	e.seq = e.commitSeq
	if e.nextKey > e.commitNextKey {
		for k, id := range e.keys {
			if id >= e.commitNextKey {
				delete(e.keys, k)
			}
		}
		e.nextKey = e.commitNextKey
	}
}

// Take returns the bytes encoded so far and commits them; the encoder goes
// on with an empty buffer that reuses spare's storage. A writer that writes
// in the background takes the records from the goroutines that encode them.
func (e *Encoder) Take(spare []byte) []byte {
	b := e.buf
	e.buf = spare[:0]
	e.Commit()
	return b
}

// Prepend puts p, bytes taken before that could not be written, back in
// front of the buffer, to be taken again. They stay committed.
func (e *Encoder) Prepend(p []byte) {
	if len(p) == 0 {
		return
	}
	e.buf = append(append(make([]byte, 0, len(p)+len(e.buf)), p...), e.buf...)
	e.commitLen += len(p)
}

// flushed forgets the records an Appender wrote, committing them.
func (e *Encoder) flushed() {
	e.buf = e.buf[:0]
	e.Commit()
}
