package server

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/runlog/runlog/internal/store"
)

// pushdown returns the part of q the store can evaluate in its query
// (store.Filter.Where), and whether there is one: comparisons of a
// config value with a number under and, or and not, which store.Cond
// evaluates as condition.match does. Of an and, the conditions it can
// take; of an or or a not, all or nothing. The whole query is still
// matched against what the store returns: the part pushed down only
// spares reading the runs it leaves out.
func pushdown(q query) (store.Cond, bool) {
	if a, ok := q.(allOf); ok {
		var of []store.Cond
		for _, x := range a {
			if c, ok := exactCond(x); ok {
				of = append(of, c)
			}
		}
		switch len(of) {
		case 0:
			return store.Cond{}, false
		case 1:
			return of[0], true
		}
		return store.Cond{Op: store.CondAnd, Of: of}, true
	}
	return exactCond(q)
}

// pushOps are the operators a store.Cond compares with.
var pushOps = map[string]store.CondOp{"<": store.CondLess, "<=": store.CondLessEq, ">": store.CondGreater, ">=": store.CondGreaterEq}

// exactCond returns the store.Cond that holds exactly where q does, if
// there is one.
func exactCond(q query) (store.Cond, bool) {
	switch x := q.(type) {
	case allOf, anyOf:
		list, op := []query(nil), store.CondAnd
		if a, ok := x.(allOf); ok {
			list = a
		} else {
			list, op = x.(anyOf), store.CondOr
		}
		of := make([]store.Cond, 0, len(list))
		for _, y := range list {
			c, ok := exactCond(y)
			if !ok {
				return store.Cond{}, false
			}
			of = append(of, c)
		}
		return store.Cond{Op: op, Of: of}, true
	case not:
		c, ok := exactCond(x.q)
		if !ok {
			return store.Cond{}, false
		}
		return store.Cond{Op: store.CondNot, Of: []store.Cond{c}}, true
	case condition:
		key, isConfig := strings.CutPrefix(x.field, "config.")
		op, isOrder := pushOps[x.op]
		if !isConfig || !isOrder || !x.value.num || math.IsNaN(x.value.f) {
			return store.Cond{}, false
		}
		c := store.Cond{Op: op, Key: key, Value: x.value.f}
		if c.Check() != nil {
			return store.Cond{}, false
		}
		return c, true
	}
	return store.Cond{}, false
}

// ConfigCondition reads a runs query (the q of GET /api/v1/runs) that
// compares config values with numbers only — `config.lr > 5e-4 and not
// config.model.layers >= 8`, with <, <=, >, >= under and, or and not —
// into the condition the store evaluates, as `runlog ls --where` takes
// it. The empty query is no condition (nil).
func ConfigCondition(s string) (*store.Cond, error) {
	q, err := parseQuery(s)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "q: "))
	}
	if a, ok := q.(allOf); ok && len(a) == 0 {
		return nil, nil
	}
	c, ok := exactCond(q)
	if !ok {
		return nil, fmt.Errorf("%q: only comparisons of config values with numbers (config.lr > 5e-4; <, <=, > or >=) under and, or and not; the web UI's filter takes any query", s)
	}
	return &c, nil
}
