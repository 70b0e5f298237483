package bench

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
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
