package server

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// A query selects runs, as the runs list's q parameter takes it:
// `config.lr > 1e-3 and (status = finished or tag in (good, best))`.
// It is a tree of conditions under and, or and not (queryparse.go reads
// one); String writes it back out in the same syntax, parenthesized only
// where and binding tighter than or needs it, so that what it writes
// parses to the same tree.
type query interface {
	match(src fieldSource) bool
	String() string
}

// allOf holds when each of its queries does; empty, it matches every run.
type allOf []query

// anyOf holds when one of its queries does.
type anyOf []query

// not holds when its query does not.
type not struct{ q query }

// A condition compares a field of a run with a value; a bare word
// (field "") matches the run's name, tags and project.
type condition struct {
	field  string  // "" for a bare word
	op     string  // = != < <= > >= ~ in
	value  value   // for every op but in
	values []value // for in: the run's value equals one of them
}

// value is a field's value or a value in a query: a number or a string.
type value struct {
	s   string
	f   float64
	num bool
}

func numberValue(f float64) value {
	return value{s: strconv.FormatFloat(f, 'g', -1, 64), f: f, num: true}
}

// textValue is a string value; one that reads as a number compares as one.
func textValue(s string) value {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return value{s: s, f: f, num: true}
	}
	return value{s: s}
}

// jsonValue converts a decoded JSON value: numbers stay numbers (and the
// strings "NaN", "Infinity" and "-Infinity" become them), booleans and
// strings are strings, objects and arrays their compact JSON.
func jsonValue(v any) (value, bool) {
	switch x := v.(type) {
	case nil:
		return value{}, false
	case float64:
		return numberValue(x), true
	case json.Number:
		return textValue(x.String()), true
	case string:
		switch x {
		case "NaN":
			return numberValue(math.NaN()), true
		case "Infinity":
			return numberValue(math.Inf(1)), true
		case "-Infinity":
			return numberValue(math.Inf(-1)), true
		}
		return value{s: x}, true
	case bool:
		return value{s: strconv.FormatBool(x)}, true
	}
	b, _ := json.Marshal(v)
	return value{s: string(b)}, true
}

// rawJSONValue converts compact JSON, as analyze.Flatten gives config
// leaves.
func rawJSONValue(raw string) (value, bool) {
	var v any
	if json.Unmarshal([]byte(raw), &v) != nil {
		return value{s: raw}, true
	}
	return jsonValue(v)
}

// compare orders two values: numbers before strings, numbers by value
// (NaN last), strings by bytes.
func compare(a, b value) int {
	switch {
	case a.num && b.num:
		switch {
		case a.f < b.f:
			return -1
		case a.f > b.f:
			return 1
		case a.f == b.f:
			return 0
		case math.IsNaN(a.f) && math.IsNaN(b.f):
			return 0
		case math.IsNaN(a.f):
			return 1
		}
		return -1
	case a.num:
		return -1
	case b.num:
		return 1
	}
	return strings.Compare(a.s, b.s)
}

// matches reports whether v satisfies op against want.
func matches(v value, op string, want value) bool {
	switch op {
	case "~":
		return strings.Contains(strings.ToLower(v.s), strings.ToLower(want.s))
	case "=", "!=":
		eq := v.num && want.num && compare(v, want) == 0 || !(v.num && want.num) && strings.EqualFold(v.s, want.s)
		return eq == (op == "=")
	}
	if v.num != want.num {
		return false
	}
	c := compare(v, want)
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// plainFields are the fields of a run row that a query or a sort may name
// directly.
var plainFields = map[string]bool{
	"id": true, "name": true, "project": true, "group": true, "status": true, "tag": true, "tags": true,
	"host": true, "hypothesis": true, "exit_code": true, "start_time": true, "end_time": true, "last_time": true,
	"last_step": true, "wallclock_time": true, "active_time": true, "train_loss": true, "val_loss": true,
}

// metricStats are the statistics metric.<key>.<stat> may name.
var metricStats = map[string]bool{"final": true, "min": true, "max": true, "best": true, "mean": true, "initial": true, "count": true}

// checkField reports whether a query or a sort may name field.
func checkField(field string) error {
	switch {
	case plainFields[field]:
		return nil
	case strings.HasPrefix(field, "config.") && len(field) > len("config."):
		return nil
	case strings.HasPrefix(field, "summary.") && len(field) > len("summary."):
		return nil
	case strings.HasPrefix(field, "metric."):
		rest := strings.TrimPrefix(field, "metric.")
		i := strings.LastIndexByte(rest, '.')
		if i > 0 && metricStats[rest[i+1:]] {
			return nil
		}
		return badRequest("%q: write metric.<key>.final, .min, .max, .best, .mean, .initial or .count", field)
	}
	return badRequest("unknown field %q: use name, project, group, status, tag, host, a run-table column, config.<path>, summary.<key> or metric.<key>.<stat>", field)
}

// fieldSource gives the values of one run's fields.
type fieldSource interface {
	field(name string) (value, bool)
	tags() []string
	text() []string // what a bare word is looked for in
}

func (q allOf) match(src fieldSource) bool {
	for _, x := range q {
		if !x.match(src) {
			return false
		}
	}
	return true
}

func (q anyOf) match(src fieldSource) bool {
	for _, x := range q {
		if x.match(src) {
			return true
		}
	}
	return false
}

func (q not) match(src fieldSource) bool { return !q.q.match(src) }

func (c condition) match(src fieldSource) bool {
	switch c.field {
	case "":
		for _, t := range src.text() {
			if matches(value{s: t}, "~", c.value) {
				return true
			}
		}
		return false
	case "tag", "tags":
		// A run has several tags: tag = x means one of them is x, and
		// tag != x that none is.
		op := c.op
		if op == "!=" {
			op = "="
		}
		has := false
		for _, t := range src.tags() {
			if c.holds(value{s: t}, op) {
				has = true
				break
			}
		}
		return has != (c.op == "!=")
	}
	v, ok := src.field(c.field)
	if !ok {
		return c.op == "!="
	}
	return c.holds(v, c.op)
}

// holds reports whether v satisfies op against the condition's value or,
// for in, equals one of its values.
func (c condition) holds(v value, op string) bool {
	if op == "in" {
		for _, w := range c.values {
			if matches(v, "=", w) {
				return true
			}
		}
		return false
	}
	return matches(v, op, c.value)
}

func (q allOf) String() string {
	parts := make([]string, len(q))
	for i, x := range q {
		parts[i] = x.String()
		if _, ok := x.(anyOf); ok {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, " and ")
}

func (q anyOf) String() string {
	parts := make([]string, len(q))
	for i, x := range q {
		parts[i] = x.String()
	}
	return strings.Join(parts, " or ")
}

func (q not) String() string {
	switch q.q.(type) {
	case allOf, anyOf:
		return "not (" + q.q.String() + ")"
	}
	return "not " + q.q.String()
}

func (c condition) String() string {
	switch {
	case c.field == "":
		return quoteQueryText(c.value.s)
	case c.op == "in":
		parts := make([]string, len(c.values))
		for i, v := range c.values {
			parts[i] = v.query()
		}
		return c.field + " in (" + strings.Join(parts, ", ") + ")"
	}
	return c.field + " " + c.op + " " + c.value.query()
}

// query writes a value as a query takes it: a number as it was written,
// text quoted.
func (v value) query() string {
	if v.num {
		return v.s
	}
	return quoteQueryText(v.s)
}

// quoteQueryText quotes s with whichever quote it does not hold: the query
// syntax has no escapes, and a quoted token never holds its own quote, so
// no text a query held has both.
func quoteQueryText(s string) string {
	if strings.ContainsRune(s, '"') {
		return "'" + s + "'"
	}
	return `"` + s + `"`
}
