package runfmt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
)

// startRecord appends the frame and body header of a record of type t to dst
// and returns the grown slice and the record's start offset in it. The caller
// appends the payload and then calls finishRecord. This lets hot paths encode
// a payload in place without copying it.
func startRecord(dst []byte, t Type, seq uint64) ([]byte, int) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, byte(t))
	dst = binary.LittleEndian.AppendUint64(dst, seq)
	return dst, start
}

// finishRecord fills in the length and checksum of the record that starts at
// start in dst.
func finishRecord(dst []byte, start int) []byte {
	body := dst[start+frameHeaderSize:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.ChecksumIEEE(body))
	return dst
}

// appendRecord appends a complete record with the given payload to dst.
func appendRecord(dst []byte, t Type, seq uint64, payload []byte) []byte {
	dst, start := startRecord(dst, t, seq)
	dst = append(dst, payload...)
	return finishRecord(dst, start)
}

// appendKey appends a key record that names key id.
func appendKey(dst []byte, seq uint64, id uint32, name string) []byte {
	dst, start := startRecord(dst, TypeKey, seq)
	dst = binary.LittleEndian.AppendUint32(dst, id)
	dst = append(dst, name...)
	return finishRecord(dst, start)
}

// appendMetrics appends a metrics record: values[i] for key ids[i], all at
// the given step and time.
func appendMetrics(dst []byte, seq uint64, step int64, time float64, ids []uint32, values []float64) []byte {
	dst, start := startMetrics(dst, seq, step, time)
	for i, id := range ids {
		dst = appendPair(dst, id, values[i])
	}
	return finishRecord(dst, start)
}

// startMetrics starts a metrics record; append pairs with appendPair and end
// it with finishRecord.
func startMetrics(dst []byte, seq uint64, step int64, time float64) ([]byte, int) {
	dst, start := startRecord(dst, TypeMetrics, seq)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(step))
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(time))
	return dst, start
}

// appendPair appends one (key id, value) pair of a metrics record.
func appendPair(dst []byte, id uint32, v float64) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, id)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
}

// appendHeartbeat appends a heartbeat record.
func appendHeartbeat(dst []byte, seq uint64, time float64) []byte {
	dst, start := startRecord(dst, TypeHeartbeat, seq)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(time))
	return finishRecord(dst, start)
}

// appendJSON appends a record whose payload is v encoded as JSON, with
// non-finite floats written as the strings "NaN", "Infinity" and "-Infinity".
func appendJSON(dst []byte, t Type, seq uint64, v any) ([]byte, error) {
	p, err := MarshalJSON(v)
	if err != nil {
		return dst, fmt.Errorf("encode %s record: %w", t, err)
	}
	if len(p) > maxJSONPayload {
		return dst, fmt.Errorf("%w: %s record of %d bytes exceeds %d", ErrInvalid, t, len(p), maxJSONPayload)
	}
	return appendRecord(dst, t, seq, p), nil
}

// MarshalJSON encodes v as compact JSON without HTML escaping. Floats that
// are NaN or infinite anywhere inside maps and slices of v become the
// strings "NaN", "Infinity" and "-Infinity".
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(finite(v)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// finite replaces non-finite floats in generic JSON values by their string
// names, so that encoding/json accepts them.
func finite(v any) any {
	switch x := v.(type) {
	case Artifact:
		x.Metadata, _ = finite(x.Metadata).(map[string]any)
		return x
	case Event:
		x.Data, _ = finite(x.Data).(map[string]any)
		return x
	case float64:
		if s, ok := nonFiniteName(x); ok {
			return s
		}
	case float32:
		if s, ok := nonFiniteName(float64(x)); ok {
			return s
		}
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = finite(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = finite(e)
		}
		return out
	case []float64:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = finite(e)
		}
		return out
	}
	return v
}

func nonFiniteName(f float64) (string, bool) {
	switch {
	case math.IsNaN(f):
		return "NaN", true
	case math.IsInf(f, 1):
		return "Infinity", true
	case math.IsInf(f, -1):
		return "-Infinity", true
	}
	return "", false
}

// NumberValue turns the strings that stand for non-finite numbers back into
// floats and leaves every other value as it is. It recurses into maps and
// slices in place.
func NumberValue(v any) any {
	switch x := v.(type) {
	case string:
		switch x {
		case "NaN":
			return math.NaN()
		case "Infinity":
			return math.Inf(1)
		case "-Infinity":
			return math.Inf(-1)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = NumberValue(e)
		}
	case []any:
		for i, e := range x {
			x[i] = NumberValue(e)
		}
	}
	return v
}
