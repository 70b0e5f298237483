package mlflow

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// decodeBatch parses the body of runs/log-batch without reflection or
// closures: the client sends it hundreds of times a second, and
// encoding/json took a fifth of the server's time. It reports false on
// anything it does not expect; the caller then decodes with encoding/json,
// whose errors it returns.
func decodeBatch(data []byte, q *batchRequest) bool {
	s := &scanner{b: data, intern: map[string]string{}}
	if !s.byte('{') {
		return false
	}
	for first := true; ; {
		key, done, ok := s.nextKey(&first)
		if !ok {
			return false
		}
		if done {
			break
		}
		switch string(key) {
		case "run_id", "run_uuid":
			id, ok := s.stringOrNull()
			if !ok {
				return false
			}
			if id != "" {
				q.RunID = id
			}
		case "metrics":
			if !s.metrics(q) {
				return false
			}
		case "params":
			if q.Params, ok = s.keyValues(q.Params); !ok {
				return false
			}
		case "tags":
			if q.Tags, ok = s.keyValues(q.Tags); !ok {
				return false
			}
		default:
			if folds(key, "run_id", "run_uuid", "metrics", "params", "tags") || !s.skip(0) {
				return false
			}
		}
	}
	s.space()
	return s.i == len(s.b)
}

// folds reports whether key equals one of names but for case, which
// encoding/json matches and the fast path leaves to it.
func folds(key []byte, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(string(key), n) {
			return true
		}
	}
	return false
}

func (s *scanner) metrics(q *batchRequest) bool {
	if s.literal("null") {
		return true
	}
	if !s.byte('[') {
		return false
	}
	for first := true; ; {
		done, ok := s.nextElem(&first)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var m metricMsg
		if !s.byte('{') {
			return false
		}
		for first := true; ; {
			key, done, ok := s.nextKey(&first)
			if !ok {
				return false
			}
			if done {
				break
			}
			if !s.metricField(key, &m) {
				return false
			}
		}
		q.Metrics = append(q.Metrics, m)
	}
}

func (s *scanner) keyValues(dst []keyValue) ([]keyValue, bool) {
	if s.literal("null") {
		return dst, true
	}
	if !s.byte('[') {
		return dst, false
	}
	for first := true; ; {
		done, ok := s.nextElem(&first)
		if !ok {
			return dst, false
		}
		if done {
			return dst, true
		}
		var kv keyValue
		if !s.byte('{') {
			return dst, false
		}
		for first := true; ; {
			key, done, ok := s.nextKey(&first)
			if !ok {
				return dst, false
			}
			if done {
				break
			}
			switch string(key) {
			case "key":
				kv.Key, ok = s.stringOrNull()
			case "value":
				kv.Value, ok = s.stringOrNull()
			default:
				ok = !folds(key, "key", "value") && s.skip(0)
			}
			if !ok {
				return dst, false
			}
		}
		dst = append(dst, kv)
	}
}

// nextKey reads the next key of an object whose '{' was read, and the
// colon after it; done reports the end of the object.
func (s *scanner) nextKey(first *bool) (key []byte, done, ok bool) {
	if s.byte('}') {
		return nil, true, true
	}
	if !*first && !s.byte(',') {
		return nil, false, false
	}
	*first = false
	raw, escaped, ok := s.stringBytes()
	if !ok || escaped || !s.byte(':') {
		return nil, false, false
	}
	return raw[1 : len(raw)-1], false, true
}

// nextElem moves to the next element of an array whose '[' was read; done
// reports the end of the array.
func (s *scanner) nextElem(first *bool) (done, ok bool) {
	if s.byte(']') {
		return true, true
	}
	if !*first && !s.byte(',') {
		return false, false
	}
	*first = false
	return false, true
}

// scanner reads JSON from b.
type scanner struct {
	b      []byte
	i      int
	intern map[string]string // strings read so far: a batch repeats its keys
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte consumes c, after white space.
func (s *scanner) byte(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) peek() byte {
	s.space()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// object reads an object, calling field for each key with the scanner at
// its value.
func (s *scanner) object(field func(key string) bool) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	for {
		key, ok := s.string()
		if !ok || !s.byte(':') || !field(key) {
			return false
		}
		if s.byte('}') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

// array reads an array, calling elem with the scanner at each element. A
// null is an empty array.
func (s *scanner) array(elem func() bool) bool {
	if s.literal("null") {
		return true
	}
	if !s.byte('[') {
		return false
	}
	if s.byte(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.byte(']') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

func (s *scanner) literal(w string) bool {
	s.space()
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

// stringBytes returns the raw bytes of a string, quotes included, and
// whether it has escapes.
func (s *scanner) stringBytes() ([]byte, bool, bool) {
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false
	}
	start, escaped := s.i, false
	for s.i++; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '\\':
			escaped = true
			s.i++
		case c == '"':
			s.i++
			return s.b[start:s.i], escaped, true
		case c < 0x20:
			return nil, false, false
		}
	}
	return nil, false, false
}

func (s *scanner) string() (string, bool) {
	raw, escaped, ok := s.stringBytes()
	if !ok {
		return "", false
	}
	if !escaped {
		body := raw[1 : len(raw)-1]
		if v, ok := s.intern[string(body)]; ok {
			return v, true
		}
		v := string(body)
		if s.intern != nil && len(s.intern) < 1024 {
			s.intern[v] = v
		}
		return v, utf8.Valid(body)
	}
	var out string
	err := json.Unmarshal(raw, &out)
	return out, err == nil
}

func (s *scanner) stringOrNull() (string, bool) {
	if s.literal("null") {
		return "", true
	}
	return s.string()
}

// number returns the text of a number, or of a string holding one.
func (s *scanner) number() ([]byte, bool) {
	if s.peek() == '"' {
		raw, escaped, ok := s.stringBytes()
		return raw, ok && !escaped
	}
	start := s.i
	if !s.jsonNumber() {
		return nil, false
	}
	return s.b[start:s.i], true
}

// jsonNumber consumes a number as JSON writes it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) jsonNumber() bool {
	b := s.b
	digits := func() bool {
		start := s.i
		for s.i < len(b) && b[s.i] >= '0' && b[s.i] <= '9' {
			s.i++
		}
		return s.i > start
	}
	if s.i < len(b) && b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(b) && b[s.i] == '0':
		s.i++
	case !digits():
		return false
	}
	if s.i < len(b) && b[s.i] == '.' {
		s.i++
		if !digits() {
			return false
		}
	}
	if s.i < len(b) && (b[s.i] == 'e' || b[s.i] == 'E') {
		s.i++
		if s.i < len(b) && (b[s.i] == '+' || b[s.i] == '-') {
			s.i++
		}
		if !digits() {
			return false
		}
	}
	return true
}

func (s *scanner) metricField(key []byte, m *metricMsg) bool {
	var target json.Unmarshaler
	switch string(key) {
	case "key":
		var ok bool
		m.Key, ok = s.stringOrNull()
		return ok
	case "value":
		target = &m.Value
	case "timestamp":
		target = &m.Timestamp
	case "step":
		target = &m.Step
	default:
		return !folds(key, "key", "value", "timestamp", "step") && s.skip(0)
	}
	if s.literal("null") {
		return true
	}
	raw, ok := s.number()
	return ok && target.UnmarshalJSON(raw) == nil
}

// skip skips any value.
func (s *scanner) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	switch s.peek() {
	case '"':
		_, _, ok := s.stringBytes()
		return ok
	case '{':
		return s.object(func(string) bool { return s.skip(depth + 1) })
	case '[':
		return s.array(func() bool { return s.skip(depth + 1) })
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	_, ok := s.number()
	return ok
}
