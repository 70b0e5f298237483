// Package runfmt reads and writes run.log, the append-only record log that
// clients and the runner write for every run.
//
// A run.log is an 8-byte magic followed by framed records:
//
//	length  uint32 LE   length L of the body
//	crc     uint32 LE   CRC-32 (IEEE, as zlib.crc32) of the body
//	body    L bytes     type (1 byte), seq (uint64 LE), payload
//
// docs/run-log-format.md specifies every record byte for byte; the files in
// testdata/ are the shared fixtures that every reader and writer, in any
// language, is tested against.
//
// Every Go writer of a run.log encodes its records with an Encoder, which
// keeps what a writer must: sequence numbers grow by one, and a key gets
// the next id and is defined by a key record before its first use. A writer
// that continues a log another process wrote — one of the writers that take
// turns on run.cli.log or the MLflow server's logs, a client resuming a run
// — opens it with OpenAppend, which takes the log's lock, reads it and cuts
// off a torn tail first. Reader and Scan read logs.
package runfmt

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Magic starts every run.log. Its last byte before the newline is the format
// version.
const Magic = "RUNLOG1\n"

// Frame sizes.
const (
	frameHeaderSize = 8        // length + crc
	bodyHeaderSize  = 9        // type + seq
	metricsFixed    = 16       // step + time
	metricPairSize  = 12       // key id + value
	MaxBodySize     = 16 << 20 // the largest body a reader accepts
	MaxKeyLen       = 256      // bytes in a metric key
	MaxNameLen      = 256      // bytes in a run name, project, group or tag
	MaxTextLen      = 64 << 10 // bytes in notes, hypothesis, an event's text
	MaxConfigSize   = 4 << 20  // bytes of a config record's JSON
	MaxSummarySize  = 1 << 20  // bytes of a summary record's JSON
	MaxMetricsPairs = 1 << 16  // values in one metrics record
	MaxTags         = 256      // tags on a run
	maxJSONPayload  = MaxBodySize - bodyHeaderSize
)

// Type is the kind of a record.
type Type uint8

// Record types. Readers skip types they do not know, so new types can be
// added without breaking old readers.
const (
	TypeHeader    Type = 1  // JSON Header: the run's identity, written first
	TypeConfig    Type = 2  // JSON object: the complete config, replacing any earlier one
	TypeKey       Type = 3  // uint32 key id, UTF-8 key name
	TypeMetrics   Type = 4  // int64 step, float64 time, then (uint32 key id, float64 value) pairs
	TypeSummary   Type = 5  // JSON object merged into the user summary; null deletes a key
	TypeArtifact  Type = 6  // JSON Artifact
	TypeStatus    Type = 7  // JSON Status
	TypeHeartbeat Type = 8  // float64 time
	TypeEvent     Type = 9  // JSON Event
	TypeDefine    Type = 10 // JSON Define: how a metric is judged
	TypeResume    Type = 11 // JSON Resume: a new process continues the run
	TypeRewind    Type = 12 // JSON Rewind: the run continues from an earlier step
	TypeAnnotate  Type = 13 // JSON Annotate: a person changed the run's tags, notes or hypothesis
	TypeText      Type = 14 // JSON Text: a text value of a key at a step
	TypeHistogram Type = 15 // JSON Histogram: a distribution of a key at a step
	TypeMedia     Type = 16 // JSON Media: an image, table or HTML file of a key at a step
)

var typeNames = map[Type]string{
	TypeHeader: "header", TypeConfig: "config", TypeKey: "key", TypeMetrics: "metrics",
	TypeSummary: "summary", TypeArtifact: "artifact", TypeStatus: "status",
	TypeHeartbeat: "heartbeat", TypeEvent: "event", TypeDefine: "define",
	TypeResume: "resume", TypeRewind: "rewind", TypeAnnotate: "annotate",
	TypeText: "text", TypeHistogram: "histogram", TypeMedia: "media",
}

// String returns the type's name as used in docs and fixtures.
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// ParseType returns the type with the given name.
func ParseType(name string) (Type, bool) {
	for t, n := range typeNames {
		if n == name {
			return t, true
		}
	}
	return 0, false
}

// Known reports whether t is a record type this package understands.
func (t Type) Known() bool { _, ok := typeNames[t]; return ok }

// ErrInvalid is wrapped by every error about a value that may not be logged.
var ErrInvalid = errors.New("invalid value")

// CheckKey reports whether name may be used as a metric key: 1 to MaxKeyLen
// bytes of valid UTF-8 without control characters. Slashes, spaces and any
// other printable characters are allowed.
func CheckKey(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty metric key", ErrInvalid)
	}
	if len(name) > MaxKeyLen {
		return fmt.Errorf("%w: metric key %.40q… is %d bytes, the limit is %d", ErrInvalid, name, len(name), MaxKeyLen)
	}
	return checkText("metric key", name)
}

// CheckName reports whether s may be used as a run name, project, group or
// tag (what is meant is said by what).
func CheckName(what, s string) error {
	if len(s) > MaxNameLen {
		return fmt.Errorf("%w: %s %.40q… is %d bytes, the limit is %d", ErrInvalid, what, s, len(s), MaxNameLen)
	}
	return checkText(what, s)
}

func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalid, what, s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s %q contains control character %U", ErrInvalid, what, s, r)
		}
	}
	return nil
}

// CheckStep reports whether step may be logged. Every int64 may: a
// negative step (MLflow's step -1 for "before training") is kept as it is,
// and the chunk codec codes steps and their deltas signed.
func CheckStep(step int64) error {
	return nil
}

// CheckTime reports whether t is a plausible unix time in seconds: finite and
// not before 1970.
func CheckTime(t float64) error {
	if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 || t > 1e11 {
		return fmt.Errorf("%w: time %v is not a unix time in seconds", ErrInvalid, t)
	}
	return nil
}
