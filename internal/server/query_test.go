package server

import (
	"math"
	"testing"
)

// fields is a fieldSource for tests.
type fields struct {
	vals map[string]value
	tg   []string
}

func (f fields) field(name string) (value, bool) { v, ok := f.vals[name]; return v, ok }
func (f fields) tags() []string                  { return f.tg }
func (f fields) text() []string                  { return append([]string{f.vals["name"].s}, f.tg...) }

func TestQuery(t *testing.T) {
	run := fields{vals: map[string]value{
		"name":          {s: "lr-3e-3 baseline"},
		"status":        {s: "finished"},
		"config.lr":     numberValue(3e-3),
		"config.opt":    {s: "adamw"},
		"summary.loss":  numberValue(math.NaN()),
		"metric.x.best": numberValue(1.5),
	}, tg: []string{"good", "cs336"}}
	for _, tc := range []struct {
		q    string
		want bool
	}{
		{"", true},
		{"config.lr > 1e-3", true},
		{"config.lr>1e-3 and config.lr<=0.003", true},
		{"config.lr >= 0.01", false},
		{"config.lr = 0.003", true},
		{"config.lr != 3e-3", false},
		{"config.opt = AdamW", true},
		{"config.opt ~ dam", true},
		{"config.opt > 1", false}, // a string is not compared with a number
		{"config.missing != 1", true},
		{"config.missing = 1", false},
		{"status = finished AND tag = good", true},
		{"tag = bad", false},
		{"tag != bad", true},
		{"tag ~ cs", true},
		{"baseline", true},
		{"cs336", true},
		{"nothing", false},
		{`name = "lr-3e-3 baseline"`, true},
		{`name = 'lr-3e-3 baseline'`, true},
		{"summary.loss = NaN", true},
		{"summary.loss < 1", false},
		{"metric.x.best <= 1.5", true},
	} {
		q, err := parseQuery(tc.q)
		if err != nil {
			t.Errorf("parseQuery(%q): %v", tc.q, err)
			continue
		}
		if got := q.match(run); got != tc.want {
			t.Errorf("%q matches: %v, want %v (%v)", tc.q, got, tc.want, q)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	for _, q := range []string{
		"config.lr >", "> 1", "colour = red", `name = "open`, "config.lr => 1", "metric.x.median > 1",
		"metric.x > 1", `"name" = x`, "config. = 1",
	} {
		if _, err := parseQuery(q); err == nil {
			t.Errorf("parseQuery(%q) accepted", q)
		}
	}
}

func TestCompareValues(t *testing.T) {
	nan := numberValue(math.NaN())
	for _, tc := range []struct {
		a, b value
		want int
	}{
		{numberValue(1), numberValue(2), -1},
		{numberValue(2), numberValue(2), 0},
		{numberValue(1), value{s: "a"}, -1},
		{value{s: "b"}, value{s: "a"}, 1},
		{nan, numberValue(1), 1},
		{numberValue(1), nan, -1},
		{nan, nan, 0},
	} {
		if got := compare(tc.a, tc.b); got != tc.want {
			t.Errorf("compare(%v, %v) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
