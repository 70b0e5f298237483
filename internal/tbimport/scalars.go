package tbimport

import (
	"errors"
	"io"
)

// Scalar is one scalar value of an event file.
type Scalar struct {
	Tag      []byte // valid only during the call that receives it
	Step     int64
	WallTime float64 // unix seconds
	Value    float64
}

// ReadScalars reads the event file r from its start and calls fn with each
// scalar, in file order. Corrupt records are skipped; what was skipped and
// a truncated last record are returned as warnings. name is used in them.
func ReadScalars(r io.Reader, name string, fn func(Scalar)) (warnings []error, err error) {
	rd := NewReader(r, name, 0)
	plugins := map[string]string{}
	var ev event
	for {
		data, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return warnings, err
		}
		ev = event{scalars: ev.scalars[:0]}
		if decodeEvent(data, &ev, plugins) != nil {
			continue
		}
		for _, s := range ev.scalars {
			fn(Scalar{Tag: s.tag, Step: ev.step, WallTime: ev.wallTime, Value: s.value})
		}
	}
	for _, c := range rd.Skipped() {
		warnings = append(warnings, &c)
	}
	if t := rd.Truncated(); t != nil {
		warnings = append(warnings, t)
	}
	return warnings, nil
}
