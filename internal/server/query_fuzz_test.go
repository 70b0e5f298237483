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
// same conditions. Accepted queries are matched against a run too, which
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
		again := formatQuery(q)
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

// formatQuery writes a query back out: bare words and text values quoted,
// numbers as they were written.
func formatQuery(q query) string {
	var parts []string
	for _, c := range q {
		v := quoteQueryText(c.value.s)
		if c.value.num {
			v = c.value.s
		}
		if c.field == "" {
			parts = append(parts, quoteQueryText(c.value.s))
			continue
		}
		parts = append(parts, c.field+" "+c.op+" "+v)
	}
	return strings.Join(parts, " and ")
}

// quoteQueryText quotes s with whichever quote it does not hold: the query
// syntax has no escapes, and a quoted token never holds its own quote.
func quoteQueryText(s string) string {
	if strings.ContainsRune(s, '"') {
		return "'" + s + "'"
	}
	return `"` + s + `"`
}

// sameQuery compares queries, NaN equal to NaN.
func sameQuery(a, b query) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.field != y.field || x.op != y.op || x.value.s != y.value.s || x.value.num != y.value.num ||
			x.value.f != y.value.f && !(math.IsNaN(x.value.f) && math.IsNaN(y.value.f)) {
			return false
		}
	}
	return true
}
