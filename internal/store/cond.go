package store

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Cond is a condition on a run's config that a store evaluates in its own
// query (Filter.Where), so that a listing filtered on config values reads
// only the runs it shows: a tree of And, Or and Not over comparisons of a
// config value with a number, as the runs query language writes
// `config.lr > 5e-4 and not config.model.layers >= 8`.
//
// A comparison holds when the config value at Key is a JSON number, or
// one of the strings "NaN", "Infinity" and "-Infinity" (the numbers they
// name), and compares with Value as Op says, NaN being greater than every
// number and equal to itself. A key the config lacks, or whose value is a
// string, a boolean, null, an array or an object, makes the comparison
// false (and its Not true). Key names a value in nested objects by their
// keys joined with dots, as analyze.Flatten names config leaves; where a
// config has the same dotted key two ways ({"a.b": 1, "a": {"b": 2}})
// the comparison holds if it holds for either.
//
// Match is the reference every store's SQL must agree with
// (storetest checks it on configs chosen to tell them apart).
type Cond struct {
	Op CondOp
	// Of holds And's and Or's conditions (an empty And matches every
	// run, an empty Or none) and Not's one condition.
	Of    []Cond
	Key   string  // comparisons: the config key
	Value float64 // comparisons: a finite number
}

// CondOp is what a Cond does.
type CondOp uint8

// The operations of a Cond.
const (
	CondAnd CondOp = iota
	CondOr
	CondNot
	CondLess
	CondLessEq
	CondGreater
	CondGreaterEq
)

// MaxCondKeyDots is the most dots a Cond's key may hold: a key of d dots
// names a value 2^d ways (each dot separating nested keys or inside one),
// and a store's query looks at each.
const MaxCondKeyDots = 4

// MinCondValue is the smallest size of a Cond's value other than 0: a
// store may compare config values below it in size by their sign alone
// (PostgreSQL's float8 refuses numbers near the end of its range).
const MinCondValue = 1e-300

// Check reports whether every store can evaluate c: comparisons with a
// finite value (0 or at least MinCondValue in size), keys that are not empty, hold no double quote and at most
// MaxCondKeyDots dots, a Not of exactly one condition.
func (c Cond) Check() error {
	switch c.Op {
	case CondAnd, CondOr:
		for _, x := range c.Of {
			if err := x.Check(); err != nil {
				return err
			}
		}
		return nil
	case CondNot:
		if len(c.Of) != 1 {
			return fmt.Errorf("condition: not of %d conditions", len(c.Of))
		}
		return c.Of[0].Check()
	case CondLess, CondLessEq, CondGreater, CondGreaterEq:
		switch {
		case c.Key == "":
			return fmt.Errorf("condition: an empty config key")
		case strings.ContainsRune(c.Key, '"'):
			return fmt.Errorf("condition: config key %q holds a double quote", c.Key)
		case strings.Count(c.Key, ".") > MaxCondKeyDots:
			return fmt.Errorf("condition: config key %q has more than %d dots", c.Key, MaxCondKeyDots)
		case math.IsNaN(c.Value) || math.IsInf(c.Value, 0) || c.Value != 0 && math.Abs(c.Value) < MinCondValue:
			return fmt.Errorf("condition: config.%s compared with %v: use a finite number, 0 or at least %g in size", c.Key, c.Value, MinCondValue)
		}
		return nil
	}
	return fmt.Errorf("condition: unknown operation %d", c.Op)
}

// Match reports whether a run whose config is the JSON config satisfies
// c. A config that is not JSON has no values.
func (c Cond) Match(config json.RawMessage) bool {
	var v any
	if json.Unmarshal(config, &v) != nil {
		v = nil
	}
	return c.match(v)
}

func (c Cond) match(config any) bool {
	switch c.Op {
	case CondAnd:
		for _, x := range c.Of {
			if !x.match(config) {
				return false
			}
		}
		return true
	case CondOr:
		for _, x := range c.Of {
			if x.match(config) {
				return true
			}
		}
		return false
	case CondNot:
		return len(c.Of) == 1 && !c.Of[0].match(config)
	}
	held := false
	ConfigPaths(c.Key, func(path []string) {
		if f, ok := numberAt(config, path); ok && c.compare(f) {
			held = true
		}
	})
	return held
}

// compare reports whether f stands to c.Value as c.Op says, NaN greater
// than every number.
func (c Cond) compare(f float64) bool {
	if math.IsNaN(f) {
		return c.Op == CondGreater || c.Op == CondGreaterEq
	}
	switch c.Op {
	case CondLess:
		return f < c.Value
	case CondLessEq:
		return f <= c.Value
	case CondGreater:
		return f > c.Value
	case CondGreaterEq:
		return f >= c.Value
	}
	return false
}

// numberAt returns the number at path in a decoded config.
func numberAt(v any, path []string) (float64, bool) {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return 0, false
		}
		if v, ok = m[k]; !ok {
			return 0, false
		}
	}
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		switch x {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(1), true
		case "-Infinity":
			return math.Inf(-1), true
		}
	}
	return 0, false
}

// ConfigPaths calls fn with each way key names a value in nested objects:
// every choice of its dots as separators of nested keys or as part of a
// key. fn must not keep path.
func ConfigPaths(key string, fn func(path []string)) {
	parts := strings.Split(key, ".")
	path := make([]string, 0, len(parts))
	var walk func(i int)
	walk = func(i int) {
		// parts[i:] make up the rest; the next key is parts[i..j] joined.
		for j := i; j < len(parts); j++ {
			path = append(path, strings.Join(parts[i:j+1], "."))
			if j == len(parts)-1 {
				fn(path)
			} else {
				walk(j + 1)
			}
			path = path[:len(path)-1]
		}
	}
	walk(0)
}

// SQL writes c as an SQL expression, the and, or and not of what cmp
// writes for each of its comparisons; yes and no are the dialect's true
// and false (an empty And, an empty Or).
func (c Cond) SQL(cmp func(Cond) string, yes, no string) string {
	switch c.Op {
	case CondAnd, CondOr:
		if len(c.Of) == 0 {
			if c.Op == CondAnd {
				return yes
			}
			return no
		}
		parts := make([]string, len(c.Of))
		for i, x := range c.Of {
			parts[i] = x.SQL(cmp, yes, no)
		}
		op := " AND "
		if c.Op == CondOr {
			op = " OR "
		}
		return "(" + strings.Join(parts, op) + ")"
	case CondNot:
		return "NOT " + c.Of[0].SQL(cmp, yes, no)
	}
	return cmp(c)
}

// SQLOps are the SQL operators of the comparisons.
var SQLOps = map[CondOp]string{CondLess: "<", CondLessEq: "<=", CondGreater: ">", CondGreaterEq: ">="}
