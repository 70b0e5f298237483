package store

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestConfigPaths(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want []string // paths, their keys joined by "|"
	}{
		{"lr", []string{"lr"}},
		{"a.b", []string{"a|b", "a.b"}},
		{"a.b.c", []string{"a|b|c", "a|b.c", "a.b|c", "a.b.c"}},
		{"a..b", []string{"a||b", "a|.b", "a.|b", "a..b"}},
	} {
		var got []string
		ConfigPaths(tc.key, func(path []string) { got = append(got, strings.Join(path, "|")) })
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ConfigPaths(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestCondMatch(t *testing.T) {
	gt := func(key string, v float64) Cond { return Cond{Op: CondGreater, Key: key, Value: v} }
	for _, tc := range []struct {
		c      Cond
		config string
		want   bool
	}{
		{gt("lr", 5e-4), `{"lr": 1e-3}`, true},
		{gt("lr", 5e-4), `{"lr": 5e-4}`, false},
		{Cond{Op: CondGreaterEq, Key: "lr", Value: 5e-4}, `{"lr": 5e-4}`, true},
		{gt("lr", 5e-4), `{"lr": "NaN"}`, true}, // NaN sorts above every number
		{Cond{Op: CondLess, Key: "lr", Value: 5e-4}, `{"lr": "NaN"}`, false},
		{Cond{Op: CondLess, Key: "lr", Value: -1e300}, `{"lr": "-Infinity"}`, true},
		{gt("lr", 0), `{"lr": "1"}`, false}, // a string is not a number
		{gt("lr", 0), `{"lr": true}`, false},
		{gt("lr", 0), `{}`, false},
		{Cond{Op: CondNot, Of: []Cond{gt("lr", 0)}}, `{}`, true},
		{gt("lr", 0), `not json`, false},
		{gt("model.lr", 1), `{"model": {"lr": 2}}`, true},
		{gt("model.lr", 1), `{"model.lr": 2}`, true},
		{gt("model", 1), `{"model": {"lr": 2}}`, false},
		{Cond{Op: CondAnd}, `{}`, true},
		{Cond{Op: CondOr}, `{"lr": 1}`, false},
	} {
		if got := tc.c.Match(json.RawMessage(tc.config)); got != tc.want {
			t.Errorf("%+v .Match(%s) = %v, want %v", tc.c, tc.config, got, tc.want)
		}
	}
}

func TestCondCheck(t *testing.T) {
	ok := []Cond{
		{Op: CondGreater, Key: "a.b.c.d.e", Value: 1},
		{Op: CondLess, Key: "lr", Value: 0},
		{Op: CondLess, Key: "lr", Value: -MinCondValue},
		{Op: CondOr, Of: []Cond{{Op: CondNot, Of: []Cond{{Op: CondLessEq, Key: "x", Value: 2}}}}},
	}
	bad := []Cond{
		{Op: CondGreater, Key: "a.b.c.d.e.f", Value: 1},
		{Op: CondGreater, Key: "", Value: 1},
		{Op: CondGreater, Key: `a"b`, Value: 1},
		{Op: CondGreater, Key: "lr", Value: math.NaN()},
		{Op: CondGreater, Key: "lr", Value: math.Inf(-1)},
		{Op: CondGreater, Key: "lr", Value: MinCondValue / 2},
		{Op: CondNot},
		{Op: CondAnd, Of: []Cond{{Op: CondNot, Of: []Cond{{}, {}}}}},
		{Op: 99},
	}
	for _, c := range ok {
		if err := c.Check(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, c := range bad {
		if c.Check() == nil {
			t.Errorf("%+v passed Check", c)
		}
	}
}
