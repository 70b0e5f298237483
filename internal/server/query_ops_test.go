package server

import (
	"math"
	"net/url"
	"strings"
	"testing"
)

// TestQueryOperators: or, in, not, parentheses and ~, and how they bind.
func TestQueryOperators(t *testing.T) {
	run := fields{vals: map[string]value{
		"name":       {s: "lr-3e-3 baseline"},
		"status":     {s: "finished"},
		"config.lr":  numberValue(3e-3),
		"config.opt": {s: "adamw"},
		"summary.x":  numberValue(math.NaN()),
	}, tg: []string{"good", "cs336"}}
	for _, tc := range []struct {
		q    string
		want bool
	}{
		{"config.lr = 0.001 or config.lr = 0.003", true},
		{"config.lr = 0.001 OR config.lr = 0.002", false},
		{"config.lr in (1e-3, 3e-3)", true},
		{"config.lr in (0.001,0.002)", false},
		{"config.lr not in (1e-3, 2e-3)", true},
		{"config.opt in ('sgd', \"AdamW\")", true},
		{"config.opt in (sgd, adam)", false},
		{"config.missing in (1, 2)", false},
		{"config.missing not in (1, 2)", true},
		{"status in (finished, killed) and tag in (good)", true},
		{"tag in (bad, cs336)", true},
		{"tag not in (bad, worse)", true},
		{"not status = failed", true},
		{"NOT status = finished", false},
		{"not not baseline", true},
		{"not (status = failed or tag = bad)", true},
		{"not (status = finished or tag = bad)", false},
		// and binds tighter than or.
		{"status = failed and tag = good or config.lr > 1e-3", true},
		{"status = failed and (tag = good or config.lr > 1e-3)", false},
		{"config.lr > 1e-3 or status = failed and tag = bad", true},
		{"(config.lr > 1e-3 or status = failed) and tag = bad", false},
		{"status = failed or tag = bad or baseline", true},
		{"((baseline))", true},
		{"config.opt ~ DAM", true},
		{"name ~ BASE and name ~ lr-", true},
		{"tag ~ CS3", true},
		{"summary.x in (NaN)", true},
		// The old syntax is unchanged: juxtaposition is and, stray ands are skipped.
		{"status = finished tag = good", true},
		{"status = finished tag = bad", false},
		{"and status = finished and and", true},
		{`"or"`, false},
		{"in", true}, // a bare word: "baseline" holds it
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

// TestQueryString: what String writes, and that it parses to the same tree.
func TestQueryString(t *testing.T) {
	for _, tc := range []struct{ q, want string }{
		{"", ""},
		{"a b", `"a" and "b"`},
		{"a or b and c", `"a" or "b" and "c"`},
		{"(a or b) and c", `("a" or "b") and "c"`},
		{"((a and b) and c)", `"a" and "b" and "c"`},
		{"a or (b or c)", `"a" or "b" or "c"`},
		{"not (a or b)", `not ("a" or "b")`},
		{"not (a b)", `not ("a" and "b")`},
		{"not not a", `not not "a"`},
		{"config.lr in (1e-3,3e-3)", `config.lr in (1e-3, 3e-3)`},
		{`status not in (finished, 'x"y')`, `not status in ("finished", 'x"y')`},
		{"tags=a,b", `tags = "a,b"`},
	} {
		q, err := parseQuery(tc.q)
		if err != nil {
			t.Errorf("parseQuery(%q): %v", tc.q, err)
			continue
		}
		if got := q.String(); got != tc.want {
			t.Errorf("parseQuery(%q).String() = %s, want %s", tc.q, got, tc.want)
		}
		again, err := parseQuery(q.String())
		if err != nil || !sameQuery(q, again) {
			t.Errorf("%q written as %s parses to %v, %v", tc.q, q, again, err)
		}
	}
}

// TestQueryOperatorErrors: each refused query says where and what was expected.
func TestQueryOperatorErrors(t *testing.T) {
	for _, tc := range []struct{ q, want string }{
		{"a or", "at the end: expected a condition"},
		{"or a", `at position 1: expected a condition, found "or"`},
		{"a or or b", `at position 6: expected a condition`},
		{"(a or b", "at the end: expected a ) to close the ( at position 1"},
		{"a )", "at position 3: a ) with no ( before it"},
		{"()", `at position 2: expected a condition, found ")"`},
		{"not", "at the end: expected a condition"},
		{"config.lr in ()", `at position 15: expected a value after config.lr in (, found ")"`},
		{"config.lr in (1,)", `at position 17: expected a value after config.lr in (`},
		{"config.lr in (1 2)", `at position 17: expected , or ) in the list of config.lr in, found "2"`},
		{"config.lr in 1", `at position 14: expected ( after config.lr in`},
		{"config.lr in (1, 2", "at the end: expected , or ) in the list of config.lr in"},
		{"colour in (red)", `at position 1: unknown field "colour"`},
		{"config.lr =", "at the end: expected a value after config.lr ="},
		{"status == finished", `at position 9: expected a value after status =, found "="`},
		{"config.lr = (1)", `at position 13: expected a value after config.lr =, found "("`},
		{"> 1", `at position 1: ">" must follow a field name`},
		{`name = "open`, "at position 8: unterminated quote"},
		{"config.lr =! 1", `at position 12: unknown operator "! "`},
		{`"name" = x`, "at position 1: a field name cannot be quoted"},
		{strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100), "nested more than 64 deep"},
		{strings.Repeat("not ", 100) + "a", "nested more than 64 deep"},
	} {
		_, err := parseQuery(tc.q)
		if err == nil || !strings.HasPrefix(err.Error(), "q: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseQuery(%q): %v; want an error with %q", tc.q, err, tc.want)
		}
	}
}

// TestListRunsQuery: the new operators through GET /api/v1/runs.
func TestListRunsQuery(t *testing.T) {
	home, _ := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	q := func(s string) string { return "/api/v1/runs?q=" + url.QueryEscape(s) }
	want := func(total int, list string) func(*testing.T, []byte) {
		return func(t *testing.T, body []byte) {
			a := decode[runsAnswer](t, body)
			if a.Total != total || names(a) != list {
				t.Errorf("total %d, runs %q; want %d, %q", a.Total, names(a), total, list)
			}
		}
	}
	runScenarios(t, ts.URL, []scenario{
		{name: "or", url: q("config.lr = 0.001 or config.lr = 0.01"), check: want(2, xssName+",sweep-a")},
		{name: "or of one", url: q("config.lr = 0.001 or config.lr = 0.003"), check: want(1, xssName)},
		{name: "in numbers", url: q("config.lr in (1e-3, 3e-3)"), check: want(1, xssName)},
		{name: "in strings", url: q(`name in ("sweep-a", 'baseline-17m')`), check: want(2, "sweep-a,baseline-17m")},
		{name: "not in", url: q("project not in (tinystories)"), check: want(2, xssName+",sweep-a")},
		{name: "not", url: q("project = sweep and not tag = good"), check: want(1, xssName)},
		{name: "and binds tighter than or", url: q("project = sweep and tag = good or name = baseline-17m"), check: want(2, "sweep-a,baseline-17m")},
		{name: "parentheses", url: q("project = sweep and (tag = good or name = baseline-17m)"), check: want(1, "sweep-a")},
		{name: "substring any case", url: q("name ~ WEEP or name ~ LINE"), check: want(2, "sweep-a,baseline-17m")},
		{name: "or without a right side", url: q("config.lr = 1 or"), status: 400, contains: []string{"at the end: expected a condition"}},
		{name: "unclosed parenthesis", url: q("(a or b"), status: 400, contains: []string{"expected a ) to close the ( at position 1"}},
		{name: "in without a list", url: q("config.lr in 1"), status: 400, contains: []string{"at position 14: expected ( after config.lr in"}},
		{name: "unknown field in an or", url: q("name = x or colour = red"), status: 400, contains: []string{"at position 13: unknown field"}},
	})
}
