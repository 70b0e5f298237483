package mlflow

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// filterSeeds are filters of every form the parser knows, and some it
// refuses.
var filterSeeds = []string{
	"",
	"   ",
	"metrics.loss < 2.5",
	"metric.`val loss` >= -1e-3",
	`params.lr = "0.1" and tags."mlflow.runName" != 'it''s'`,
	"attributes.status IN ('FINISHED', 'FAILED')",
	"attributes.status NOT IN ('KILLED')",
	"run_name not like 'x%'",
	"run_name ILIKE '%Base%' AND params.optimizer = 'adam'",
	"tags.`team name` NOT ILIKE 'nlp_'",
	"tags.t IS NOT NULL",
	"params.p IS NULL",
	"attr.start_time > 1764201600000 AND run.end_time <= 1e13",
	"metrics.loss <> NaN",
	"metrics.`a``b` = 1",
	`tags.'a\'b' = 'c\\'`,
	"\"metrics.loss\" = 'x'",
	"metrics.loss = 1 OR metrics.loss = 2",
	"metrics.loss IS NULL",
	"metrics.loss LIKE 'a'",
	"params.lr < '1'",
	"datasets.name = 'x'",
	"params.a = 'x' AND",
	"params.a = 'unterminated",
	"params.a IN ('x',",
	"params.a NOT = 'x'",
	"metrics. = 1",
	"!",
	"metrics.loss = 0x1p-2",
}

// FuzzParseFilter checks that parseFilter never panics, that its errors
// are MLflow's INVALID_PARAMETER_VALUE with a message, and that a filter it
// accepts, written back out, parses to the same clauses.
func FuzzParseFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := parseFilter(s)
		if err != nil {
			checkInvalid(t, s, err)
			return
		}
		for _, c := range cs { // matching must not panic either
			c.matchNumber(1)
			c.matchString("train_loss")
		}
		again := formatFilter(cs)
		cs2, err := parseFilter(again)
		if err != nil {
			t.Fatalf("parseFilter(%q) accepted it, but not %q, its clauses written out: %v", s, again, err)
		}
		if !sameClauses(cs, cs2) {
			t.Fatalf("parseFilter(%q) = %+v, but %q, its clauses written out, parses to %+v", s, cs, again, cs2)
		}
	})
}

// FuzzParseOrder checks that parseOrder never panics, that its errors are
// MLflow's INVALID_PARAMETER_VALUE with a message, and that an ordering it
// accepts, written back out, parses the same.
func FuzzParseOrder(f *testing.F) {
	for _, s := range []string{"metrics.loss DESC", "start_time", "attributes.run_name asc", "params.`lr x` desc",
		"tags.\"a\"\"b\"", "metrics.loss DESC extra", "nonsense", "metrics.", "`created`", "'name'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ords, err := parseOrder([]string{s})
		if err != nil {
			checkInvalid(t, s, err)
			return
		}
		again := quoteIdent(ords[0].ident)
		if ords[0].desc {
			again += " DESC"
		}
		ords2, err := parseOrder([]string{again})
		if err != nil || !reflect.DeepEqual(ords, ords2) {
			t.Fatalf("parseOrder(%q) = %+v, but %q, written out, parses to %+v, %v", s, ords, again, ords2, err)
		}
	})
}

func checkInvalid(t *testing.T, s string, err error) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code != codeInvalidParameter || strings.TrimSpace(ae.Message) == "" {
		t.Fatalf("%q: error %#v is not INVALID_PARAMETER_VALUE with a message", s, err)
	}
}

// formatFilter writes clauses in the search syntax, every key and string
// quoted.
func formatFilter(cs []clause) string {
	var parts []string
	for _, c := range cs {
		p := quoteIdent(c.ident) + " " + c.op
		switch {
		case c.op == "IS NULL" || c.op == "IS NOT NULL":
		case c.op == "IN" || c.op == "NOT IN":
			var vs []string
			for _, v := range c.list {
				vs = append(vs, quote(v, '\''))
			}
			p += " (" + strings.Join(vs, ", ") + ")"
		case c.isNum:
			p += " " + c.str // the number as written: a word of the syntax
		default:
			p += " " + quote(c.str, '\'')
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " AND ")
}

func quoteIdent(id ident) string {
	return id.entity + "." + quote(id.key, '`')
}

// quote quotes s with q, escaping backslashes, which could otherwise escape
// the closing quote, and doubling q.
func quote(s string, q byte) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, string(q), string(q)+string(q))
	return string(q) + s + string(q)
}

// sameClauses compares clauses, NaN equal to NaN.
func sameClauses(a, b []clause) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if math.IsNaN(x.num) && math.IsNaN(y.num) {
			x.num, y.num = 0, 0
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}
