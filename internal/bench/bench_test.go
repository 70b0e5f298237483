package bench

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/server/nginxtest"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

func TestLongFlags(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"store", "-points", "10", "-only=ls"}, []string{"store", "--points", "10", "--only=ls"}},
		{[]string{"compat", "--tb-only", "-h"}, []string{"compat", "--tb-only", "-h"}},
		{[]string{"chart", "--repeat", "-1"}, []string{"chart", "--repeat", "-1"}},
		{[]string{"all", "--", "-points"}, []string{"all", "--", "-points"}},
		{nil, []string{}},
	} {
		if got := longFlags(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("longFlags(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// run runs runlog-bench with args and returns what it printed.
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, log bytes.Buffer
	root := newRoot(&out, &log)
	root.SetArgs(longFlags(args))
	err = root.ExecuteContext(context.Background())
	return out.String(), log.String(), err
}

// TestHelp checks that every benchmark says what it measures and how long
// it takes.
func TestHelp(t *testing.T) {
	for _, name := range append(slices.Clone(benchmarks), "all") {
		out, _, err := run(t, name, "--help")
		if err != nil {
			t.Fatalf("%s --help: %v", name, err)
		}
		if !strings.Contains(out, "2-core machine") || !strings.Contains(out, "Flags:") {
			t.Errorf("%s --help says no time on a 2-core machine, or no flags:\n%s", name, out)
		}
	}
}

func TestCompat(t *testing.T) {
	out, _, err := run(t, "compat", "-tb-only", "-tb-points", "2000", "--dir", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "TensorBoard import: one event file of 2000 scalars") || strings.Contains(out, "MLflow") {
		t.Errorf("compat --tb-only printed:\n%s", out)
	}
}

func TestAllFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"all", "--only", "store,plot"}, `no benchmark "plot"`},
		{[]string{"all", "--runlog", "/no/such/runlog"}, "build it with go build"},
		{[]string{"store", "extra"}, "unknown command"},
	} {
		_, _, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want one with %q", tc.args, err, tc.want)
		}
	}
}

// TestPostgres runs the PostgreSQL benchmark at tiny sizes on a throwaway
// cluster: both tables, with their rows.
func TestPostgres(t *testing.T) {
	if pgtest.Bin() == "" {
		t.Skip("skipped: PostgreSQL is not installed (no initdb)")
	}
	out, _, err := run(t, "postgres", "--points", "20000", "--runs", "50", "--series-points", "20000",
		"--live-runs", "2", "--live-keys", "3", "--live-rounds", "30", "--repeat", "1", "--dir", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| bytes per point: storebench's", "| runs list of 50 runs", "which no run passes", "| the same read as before", "as a chart asks", "| 30 | 180 |", "in full chunks"} {
		if !strings.Contains(out, want) {
			t.Errorf("runlog-bench postgres printed no %q:\n%s", want, out)
		}
	}
}

// TestTeam runs the team server's benchmark at tiny sizes: two replicas
// behind nginx on a throwaway cluster, every point counted in PostgreSQL;
// without mlflow, the table says the reference was not measured.
func TestTeam(t *testing.T) {
	if pgtest.Bin() == "" || nginxtest.Bin() == "" {
		t.Skip("skipped: PostgreSQL or nginx is not installed")
	}
	out, _, err := run(t, "team", "--clients", "3", "--keys", "5", "--steps", "50", "--repeat", "1", "--mlflow", "-")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 3 Go clients streaming 750 points (5 keys × 50 steps each)", "points/s (median of 1", "not measured: no mlflow server"} {
		if !strings.Contains(out, want) {
			t.Errorf("runlog-bench team printed no %q:\n%s", want, out)
		}
	}
}
