package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
)

func TestArchive(t *testing.T) {
	home := fixtureHome(t)
	if out := mustRun(t, home, "archive", "resumed"); out != "resumed  r7m2q4zz  archived\n" {
		t.Errorf("archive printed %q", out)
	}
	listed := func(args ...string) string {
		var ids []string
		for _, id := range []string{"k3v9x2ab", "r7m2q4zz"} {
			if _, ok := lsOne(t, home, id, args...); ok {
				ids = append(ids, id)
			}
		}
		return strings.Join(ids, ",")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "k3v9x2ab"},
		{[]string{"--archived"}, "r7m2q4zz"},
		{[]string{"--all"}, "k3v9x2ab,r7m2q4zz"},
		{[]string{"--archived", "--status", "finished"}, "r7m2q4zz"},
	} {
		if got := listed(tc.args...); got != tc.want {
			t.Errorf("ls %v lists %q, want %q", tc.args, got, tc.want)
		}
	}
	if table := mustRun(t, home, "ls"); strings.Contains(table, "r7m2q4zz") {
		t.Errorf("ls table lists an archived run:\n%s", table)
	}
	if _, _, err := run(t, home, "ls", "--archived", "--all"); err == nil {
		t.Error("ls --archived --all: no error")
	}
	// Named, an archived run is found as any other.
	if out := mustRun(t, home, "show", "resumed"); !strings.Contains(out, "r7m2q4zz") {
		t.Errorf("show of an archived run:\n%s", out)
	}
	// report leaves it out unless named.
	file := filepath.Join(t.TempDir(), "LOG.md")
	mustRun(t, home, "report", "-o", file, "--no-plots")
	if doc, _ := os.ReadFile(file); strings.Contains(string(doc), "r7m2q4zz") || !strings.Contains(string(doc), "k3v9x2ab") {
		t.Errorf("report lists an archived run, or not the other:\n%s", doc)
	}
	if out := mustRun(t, home, "archive", "r7m2"); !strings.Contains(out, "archived already") {
		t.Errorf("archive twice printed %q", out)
	}
	// It is in the run folder: a rebuilt store has it.
	mustRun(t, home, "index", "--rebuild")
	if got := listed(); got != "k3v9x2ab" {
		t.Errorf("after index --rebuild ls lists %q", got)
	}
	if out := mustRun(t, home, "unarchive", "--project", "tinystories"); out != "resumed  r7m2q4zz  not archived\n" {
		t.Errorf("unarchive --project printed %q", out)
	}
	if got := listed(); got != "k3v9x2ab,r7m2q4zz" {
		t.Errorf("after unarchive ls lists %q", got)
	}
	// Filters select runs that are not archived yet.
	if out := mustRun(t, home, "archive", "--status", "failed"); out != "baseline-17m  k3v9x2ab  archived\n" {
		t.Errorf("archive --status failed printed %q", out)
	}
	if out := mustRun(t, home, "archive", "--status", "failed"); !strings.Contains(out, "no runs match") {
		t.Errorf("archive --status failed again printed %q", out)
	}
	for _, args := range [][]string{{"archive"}, {"unarchive"}, {"archive", "nosuchrun"}, {"archive", "resumed", "--tag", "x"}} {
		if _, _, err := run(t, home, args...); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

func TestRename(t *testing.T) {
	home := fixtureHome(t)
	if out := mustRun(t, home, "rename", "resumed", "  resumed-v2 "); out != "resumed-v2  r7m2q4zz  renamed from resumed\n" {
		t.Errorf("rename printed %q", out)
	}
	if out := mustRun(t, home, "show", "resumed-v2"); !strings.Contains(out, "r7m2q4zz") {
		t.Errorf("show by the new name:\n%s", out)
	}
	if _, _, err := run(t, home, "show", "resumed"); err == nil {
		t.Error("the old name still finds the run")
	}
	mustRun(t, home, "index", "--rebuild")
	if r, _ := lsOne(t, home, "r7m2q4zz"); r.Name != "resumed-v2" {
		t.Errorf("after index --rebuild: name %q", r.Name)
	}
	if out := mustRun(t, home, "rename", "r7m2", "resumed-v2"); !strings.Contains(out, "named so already") {
		t.Errorf("rename to the same name printed %q", out)
	}
	_, warn, err := run(t, home, "rename", "k3v9x2ab", "resumed-v2")
	if err != nil || !strings.Contains(warn, "r7m2q4zz is named \"resumed-v2\" too") {
		t.Errorf("rename to a name another run has: %v, warnings %q", err, warn)
	}
	for _, name := range []string{"", "  ", "a\tb", strings.Repeat("x", 300)} {
		if _, _, err := run(t, home, "rename", "r7m2q4zz", name); !errors.Is(err, runfmt.ErrInvalid) {
			t.Errorf("rename to %q: %v, want an invalid-value error", name, err)
		}
	}
	if _, _, err := run(t, home, "rename", "nosuchrun", "x"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("rename of an unknown run: %v", err)
	}
}
