package postgres

import (
	"strings"

	"github.com/runlog/runlog/internal/store"
)

// condSQL writes c (checked) as an SQL expression over rc.config, the
// run's config as jsonb (condFrom), that is true exactly where c.Match
// is; arg adds a parameter and names it.
//
// A config value is compared as float8, whose order puts NaN above every
// number as runlog's does; numbers smaller in size than
// store.MinCondValue stand in by their sign (float8 refuses some of
// them, and no condition's value lies between them and 0), numbers
// beyond float8's range (which Go, and so ingest, cannot decode) by
// nothing.
func condSQL(c store.Cond, arg func(any) string) string {
	return c.SQL(func(c store.Cond) string { return compareSQL(c, arg) }, "true", "false")
}

// compareSQL writes one comparison of c.
func compareSQL(c store.Cond, arg func(any) string) string {
	cmp := store.SQLOps[c.Op]
	value := arg(c.Value) + "::float8"
	var alts []string
	store.ConfigPaths(c.Key, func(path []string) {
		v := "(rc.config #> " + arg(append([]string(nil), path...)) + "::text[])"
		n := "(" + v + ")::numeric"
		alts = append(alts, "COALESCE((CASE jsonb_typeof("+v+")"+
			" WHEN 'number' THEN CASE WHEN abs("+n+") < 1e-300 THEN sign("+n+")::float8 * 1e-301"+
			" WHEN abs("+n+") <= 1.7976931348623157e308 THEN "+n+"::float8 END"+
			" WHEN 'string' THEN CASE "+v+" #>> '{}' WHEN 'NaN' THEN 'NaN'::float8 WHEN 'Infinity' THEN 'Infinity'::float8 WHEN '-Infinity' THEN '-Infinity'::float8 END"+
			" END) "+cmp+" "+value+", false)")
	})
	return "(" + strings.Join(alts, " OR ") + ")"
}

// condFrom joins each run to its config decoded once, as rc.config, for
// condSQL: written into the expression, each value it compares would
// decode the config again. (OFFSET 0 keeps the planner from doing just
// that.)
const condFrom = " CROSS JOIN LATERAL (SELECT r.config::jsonb AS config OFFSET 0) rc"
