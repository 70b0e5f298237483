package server

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
)

// FuzzParseQuery checks that parseQuery, which reads the q parameter of
// /api/v1/runs, never panics, that what it refuses is a 400 with a
// message, and that a query it accepts, written back out, parses to the
// same tree. Accepted queries are matched against a run too, which
// must not panic either.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"",
		"baseline",
		"config.lr > 1e-3 and status = finished",
		`name ~ "lr sweep" AND tag != 'old'`,
		"metric.val_loss.best <= 2.5 summary.note ~ 'it\"s'",
		"config.model.layers >= 12 and config.optimizer = adam",
		"exit_code != 0 last_step > 1000",
		"train_loss < NaN val_loss = inf",
		`"quoted bare word" and`,
		"and and",
		"config.lr =",
		"= 1",
		"status == finished",
		"status =! finished",
		"'name' = x",
		"nonsense = 1",
		"metric.loss = 1",
		"metric.loss.median = 1",
		`name = "unterminated`,
		"config. = 1",
		"name ~ \xff\xfe",
		"tags=a,b",
		"config.lr = 0.001 or config.lr = 0.003",
		"config.lr in (1e-3, 3e-3) and status = finished",
		`status not in ("failed", 'killed')`,
		"not (tag = old or name ~ tmp) and project = sweep",
		"(a or b) and not c or d",
		"not not baseline",
		"tag in (a,b) tags=a,b",
		"name = in (x)",
		"((config.lr > 1))",
		"config.lr in ()",
		"config.lr in (1,)",
		"config.lr in 1",
		"(a or b",
		"a or",
		"or a",
		"a )",
		"()",
		"not",
		"AND a OR NOT b",
		"'or' \"and\" 'not' in",
		strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100),
		strings.Repeat("not ", 100) + "a",
	} {
		f.Add(s)
	}
	src := fuzzRun{fields: map[string]value{
		"name": textValue("lr-sweep"), "status": textValue("finished"), "config.lr": numberValue(1e-3),
		"train_loss": numberValue(math.NaN()), "val_loss": numberValue(math.Inf(1)),
	}, tagList: []string{"baseline", "sweep"}}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := parseQuery(s)
		if err != nil {
			var he *httpError
			if !errors.As(err, &he) || he.code != http.StatusBadRequest || strings.TrimSpace(he.msg) == "" {
				t.Fatalf("parseQuery(%q): error %#v is not a 400 with a message", s, err)
			}
			return
		}
		q.match(src)
		again := q.String()
		q2, err := parseQuery(again)
		if err != nil {
			t.Fatalf("parseQuery(%q) accepted it, but not %q, its conditions written out: %v", s, again, err)
		}
		if !sameQuery(q, q2) {
			t.Fatalf("parseQuery(%q) = %+v, but %q, its conditions written out, parses to %+v", s, q, again, q2)
		}
	})
}

// fuzzRun is a run's fields for the fuzz target to match queries against.
type fuzzRun struct {
	fields  map[string]value
	tagList []string
}

func (r fuzzRun) field(name string) (value, bool) { v, ok := r.fields[name]; return v, ok }
func (r fuzzRun) tags() []string                  { return r.tagList }
func (r fuzzRun) text() []string                  { return append([]string{r.fields["name"].s}, r.tagList...) }

// sameQuery compares queries, NaN equal to NaN.
func sameQuery(a, b query) bool {
	switch x := a.(type) {
	case allOf:
		y, ok := b.(allOf)
		return ok && sameQueries(x, y)
	case anyOf:
		y, ok := b.(anyOf)
		return ok && sameQueries(x, y)
	case not:
		y, ok := b.(not)
		return ok && sameQuery(x.q, y.q)
	case condition:
		y, ok := b.(condition)
		if !ok || x.field != y.field || x.op != y.op || !sameValue(x.value, y.value) || len(x.values) != len(y.values) {
			return false
		}
		for i := range x.values {
			if !sameValue(x.values[i], y.values[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func sameQueries(a, b []query) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameQuery(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameValue(x, y value) bool {
	return x.s == y.s && x.num == y.num && (x.f == y.f || math.IsNaN(x.f) && math.IsNaN(y.f))
}
