package server

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/runlog/runlog/internal/analyze"
	"github.com/runlog/runlog/internal/store"
)

// pushdownConfigs are configs of every kind of value a pushed-down
// comparison must judge as the query does.
var pushdownConfigs = []string{
	`{"lr": 0.001}`, `{"lr": 5e-4}`, `{"lr": 1e-4}`, `{"lr": 3}`, `{"lr": 0}`, `{"lr": -1}`,
	`{"lr": "NaN"}`, `{"lr": "Infinity"}`, `{"lr": "-Infinity"}`, `{"lr": "0.01"}`, `{"lr": true}`,
	`{"lr": null}`, `{"lr": [1]}`, `{"lr": {}}`, `{"lr": {"x": 2}}`, `{}`, `null`,
	`{"model": {"layers": 12, "d.x": 4}, "seed": 3}`, `{"model": {"layers": 2}, "lr": 1e-3, "opt": "adamw"}`,
}

// TestPushdown checks that what pushdown hands the store selects the same
// runs as the query does, on configs of every kind of value, and that it
// hands over what it can.
func TestPushdown(t *testing.T) {
	for _, tc := range []struct {
		q      string
		pushed string // the query of the condition pushed down, "" if none
	}{
		{"config.lr > 5e-4", "config.lr > 5e-4"},
		{"config.lr >= 5e-4 and config.lr < 1", "config.lr >= 5e-4 and config.lr < 1"},
		{"config.lr <= 0 or config.model.layers > 4", "config.lr <= 0 or config.model.layers > 4"},
		{"not config.lr > 5e-4", "not config.lr > 5e-4"},
		{"not (config.lr > 1e-3 or config.lr < 1e-3)", "not (config.lr > 1e-3 or config.lr < 1e-3)"},
		{"config.model.d.x > 3", "config.model.d.x > 3"},
		{"config.lr > 5e-4 and config.opt = adamw", "config.lr > 5e-4"},
		{"config.lr > 5e-4 and baseline", "config.lr > 5e-4"},
		{"config.lr > 5e-4 or config.opt = adamw", ""},
		{"not config.lr = 1e-3", ""},
		{"config.lr > NaN", ""},
		{"config.lr < Infinity", ""},
		{"config.lr > '5e-4'", ""},
		{"config.lr in (1e-3, 5e-4)", ""},
		{"config.a.b.c.d.e.f > 1", ""},
		{"summary.loss < 1", ""},
		{"config.lr > 1e-310", ""},
	} {
		q, err := parseQuery(tc.q)
		if err != nil {
			t.Fatalf("parseQuery(%q): %v", tc.q, err)
		}
		c, ok := pushdown(q)
		if ok != (tc.pushed != "") {
			t.Errorf("pushdown(%q) pushed %v, want %q", tc.q, ok, tc.pushed)
			continue
		}
		if !ok {
			continue
		}
		pq, err := parseQuery(tc.pushed)
		if err != nil {
			t.Fatalf("parseQuery(%q): %v", tc.pushed, err)
		}
		if want, _ := exactCond(pq); !reflect.DeepEqual(c, want) {
			t.Errorf("pushdown(%q) = %+v, want %+v (%s)", tc.q, c, want, tc.pushed)
		}
		checkPushdown(t, tc.q, q, c)
	}
}

// checkPushdown checks that c, pushed down from the query q (written s),
// keeps every run q matches, and only those if q is pushed down whole.
func checkPushdown(t *testing.T, s string, q query, c store.Cond) {
	t.Helper()
	_, whole := exactCond(q)
	for _, cfg := range pushdownConfigs {
		flat, err := analyze.Flatten(json.RawMessage(cfg))
		if err != nil {
			flat = map[string]string{}
		}
		l := &listedRun{run: store.Run{Name: "baseline", Config: json.RawMessage(cfg)}, ex: &runExtras{config: flat}}
		matched, kept := q.match(l), c.Match(json.RawMessage(cfg))
		if matched && !kept {
			t.Fatalf("%q matches %s, but the store would leave it out (%+v)", s, cfg, c)
		}
		if whole && matched != kept {
			t.Fatalf("%q on %s: the query says %v, the store %v", s, cfg, matched, kept)
		}
	}
}

// FuzzPushdown checks checkPushdown's promise on any query that parses.
func FuzzPushdown(f *testing.F) {
	for _, s := range []string{
		"config.lr > 5e-4", "not (config.lr > 1e-3 or config.lr < 1e-3)", "config.lr <= 0 or config.model.layers > 4",
		"config.lr > 5e-4 and config.opt = adamw", "not config.lr >= 0 and baseline", "config.model.d.x > 3",
		"config.lr > -Infinity", "config.lr < 1e-300", "config.seed >= 3 and not config.lr < 0.001",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := parseQuery(s)
		if err != nil {
			return
		}
		c, ok := pushdown(q)
		if !ok {
			return
		}
		if err := c.Check(); err != nil {
			t.Fatalf("pushdown(%q) = %+v, which the stores refuse: %v", s, c, err)
		}
		checkPushdown(t, s, q, c)
	})
}
