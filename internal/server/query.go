package server

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// A query selects runs with conditions joined by "and", as the runs
// list's q parameter takes them: `config.lr > 1e-3 and status = finished`.
// Each condition compares a field of a run with a value; a bare word
// matches the run's name, tags and project.
type query []condition

type condition struct {
	field string // "" for a bare word
	op    string // = != < <= > >= ~
	value value
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

// parseQuery reads a query.
func parseQuery(s string) (query, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	var q query
	for i := 0; i < len(toks); {
		t := toks[i]
		switch {
		case t.op != "":
			return nil, badRequest("q: %q must follow a field name, as in config.lr %s 1e-3", t.text, t.text)
		case !t.quoted && strings.EqualFold(t.text, "and"):
			i++
			continue
		}
		if i+1 < len(toks) && toks[i+1].op != "" {
			if t.quoted {
				return nil, badRequest("q: a field name cannot be quoted: %q", t.text)
			}
			if i+2 >= len(toks) || toks[i+2].op != "" {
				return nil, badRequest("q: %s %s needs a value", t.text, toks[i+1].text)
			}
			if err := checkField(t.text); err != nil {
				return nil, err
			}
			val := textValue(toks[i+2].text)
			if toks[i+2].quoted {
				val = value{s: toks[i+2].text}
			}
			q = append(q, condition{field: t.text, op: toks[i+1].text, value: val})
			i += 3
			continue
		}
		q = append(q, condition{op: "~", value: value{s: t.text}})
		i++
	}
	return q, nil
}

type token struct {
	text   string
	op     string // the operator, if the token is one
	quoted bool
}

var operators = []string{"!=", "<=", ">=", "=", "<", ">", "~"}

func isOpChar(r rune) bool { return strings.ContainsRune("=!<>~", r) }

func tokenize(s string) ([]token, error) {
	var toks []token
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '"' || r == '\'':
			j := i + 1
			for j < len(rs) && rs[j] != r {
				j++
			}
			if j == len(rs) {
				return nil, badRequest("q: unterminated quote in %q", s)
			}
			toks = append(toks, token{text: string(rs[i+1 : j]), quoted: true})
			i = j + 1
		case isOpChar(r):
			op := ""
			for _, o := range operators {
				if strings.HasPrefix(string(rs[i:min(i+2, len(rs))]), o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, badRequest("q: unknown operator at %q; use = != < <= > >= or ~", string(rs[i:]))
			}
			toks = append(toks, token{text: op, op: op})
			i += len(op)
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && !isOpChar(rs[j]) && rs[j] != '"' && rs[j] != '\'' {
				j++
			}
			toks = append(toks, token{text: string(rs[i:j])})
			i = j
		}
	}
	return toks, nil
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

// match reports whether the run whose fields src gives satisfies q.
func (q query) match(src fieldSource) bool {
	for _, c := range q {
		if !c.match(src) {
			return false
		}
	}
	return true
}

func (c condition) match(src fieldSource) bool {
	if c.field == "" {
		for _, t := range src.text() {
			if matches(value{s: t}, "~", c.value) {
				return true
			}
		}
		return false
	}
	if c.field == "tag" || c.field == "tags" {
		any := false
		for _, t := range src.tags() {
			if matches(value{s: t}, strings.TrimPrefix(c.op, "!"), c.value) {
				any = true
				break
			}
		}
		if c.op == "!=" {
			return !any
		}
		return any
	}
	v, ok := src.field(c.field)
	if !ok {
		return c.op == "!="
	}
	return matches(v, c.op, c.value)
}

func (c condition) String() string { return fmt.Sprintf("%s %s %s", c.field, c.op, c.value.s) }
