package sqlite

import (
	"strings"

	"github.com/runlog/runlog/internal/store"
)

// condSQL writes c (checked) as an SQL expression over r.config that is
// true exactly where c.Match is, appending its parameters to args.
func condSQL(c store.Cond, args *[]any) string {
	return c.SQL(func(c store.Cond) string { return compareSQL(c, args) }, "1", "0")
}

// compareSQL writes one comparison of c.
func compareSQL(c store.Cond, args *[]any) string {
	cmp, text := store.SQLOps[c.Op], "'-Infinity'"
	if c.Op == store.CondGreater || c.Op == store.CondGreaterEq {
		text = "'NaN', 'Infinity'" // NaN is greater than every number
	}
	var alts []string
	store.ConfigPaths(c.Key, func(path []string) {
		p := `$."` + strings.Join(path, `"."`) + `"`
		*args = append(*args, p, p, c.Value, p)
		// json_type is NULL where the path leads nowhere; a config that is
		// not JSON (which ingest never writes) has no values rather than
		// failing the query. Integers are compared as Go decodes them: as
		// the nearest float64.
		alts = append(alts, "CASE WHEN NOT json_valid(r.config) THEN 0 WHEN json_type(r.config, ?) IN ('integer', 'real') THEN CAST(json_extract(r.config, ?) AS REAL) "+
			cmp+" ? WHEN json_type(r.config, ?) = 'text' THEN json_extract(r.config, ?) IN ("+text+") ELSE 0 END")
		*args = append(*args, p)
	})
	return "(" + strings.Join(alts, " OR ") + ")"
}
