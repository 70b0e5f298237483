package runfmt

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// State is what a writer needs to know to append to an existing run.log:
// the last sequence number, the key ids in use and where the good records
// end.
type State struct {
	Header   Header
	Config   map[string]any
	Keys     map[string]uint32 // key name to id
	NextKey  uint32            // smallest id not in use
	LastSeq  uint64
	LastStep int64 // greatest step logged, -1 if none
	Status   string
	End      int64 // offset just after the last good record
	Torn     int64 // bytes after End that are a torn tail
	Skipped  []Corruption
}

// Scan reads the run.log at path to the end and returns its state.
func Scan(path string) (State, error) {
	f, err := os.Open(path)
	if err != nil {
		return State{}, err
	}
	defer f.Close()
	st, err := scan(f, path, nil)
	if err != nil {
		return st, err
	}
	if st.Header.ID == "" {
		return st, fmt.Errorf("%s: no header record", path)
	}
	return st, nil
}

// scan reads a run.log from r, which is at its start, and returns its
// state; visit, if not nil, sees every good record. A missing header is
// not an error here.
func scan(r io.Reader, name string, visit func(Record)) (State, error) {
	st := State{Keys: map[string]uint32{}, LastStep: -1}
	rd := NewReader(bufio.NewReaderSize(r, 1<<16), name)
	var config []byte // the payload of the last config record
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, err
		}
		if visit != nil {
			visit(rec)
		}
		if rec.Seq > st.LastSeq {
			st.LastSeq = rec.Seq
		}
		switch rec.Type {
		case TypeHeader:
			if err := rec.DecodeJSON(&st.Header); err != nil {
				return st, err
			}
			st.Status = StatusRunning
		case TypeConfig:
			// Only the last config counts, and a long run may hold many:
			// it is decoded once, at the end.
			config = append(config[:0], rec.Payload...)
			if config == nil {
				config = []byte{}
			}
		case TypeKey:
			id, name, err := rec.Key()
			if err != nil {
				continue
			}
			st.Keys[name] = id
			if id >= st.NextKey {
				st.NextKey = id + 1
			}
		case TypeMetrics:
			if m, err := rec.Metrics(); err == nil && m.Step > st.LastStep {
				st.LastStep = m.Step
			}
		case TypeRewind:
			var rw Rewind
			if err := rec.DecodeJSON(&rw); err == nil {
				st.LastStep = rw.Step
			}
		case TypeStatus:
			var s Status
			if err := rec.DecodeJSON(&s); err == nil {
				st.Status = s.Status
			}
		}
	}
	st.End, st.Torn, st.Skipped = rd.Offset(), rd.Torn(), rd.Skipped()
	if config != nil {
		if err := json.Unmarshal(config, &st.Config); err != nil {
			return st, fmt.Errorf("%s: last config record: %w", name, err)
		}
	}
	return st, nil
}
