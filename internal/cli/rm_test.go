package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog"
)

// runAt runs the runlog command as run does, at time now, with stdin as
// the terminal's input when it is not nil.
func runAt(t *testing.T, home string, now time.Time, stdin *string, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, now: func() time.Time { return now }}
	if stdin != nil {
		e.stdin, e.stdinTTY = strings.NewReader(*stdin), true
	}
	root := newRoot(e)
	root.SetArgs(append([]string{"--home", home}, args...))
	err = root.ExecuteContext(context.Background())
	return out.String(), err
}

// folderDigest describes a folder byte for byte: each file's path, mode,
// sha256 and, with times, modification time.
func folderDigest(t *testing.T, dir string, times bool) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(&b, "%s %v", rel, fi.Mode())
		if times {
			fmt.Fprintf(&b, " %d", fi.ModTime().UnixNano())
		}
		if !d.IsDir() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %x", sha256.Sum256(data))
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// runState is what runlog says of a run: its folder, show --json, its
// ls --json row and its export.
func runState(t *testing.T, home, id string) map[string]string {
	t.Helper()
	exp := t.TempDir()
	mustRun(t, home, "export", id, "-o", exp, "--plots=false")
	return map[string]string{
		"folder": folderDigest(t, filepath.Join(home, "runs", id), true),
		"show":   mustRun(t, home, "show", id, "--json"),
		"ls":     mustRun(t, home, "ls", "--json", "--all", "--name", "resumed"),
		"export": folderDigest(t, exp, false), // written now
	}
}

func TestRmRestoreGivesTheRunBack(t *testing.T) {
	home := fixtureHome(t)
	const id = "r7m2q4zz"
	mustRun(t, home, "tag", id, "kept")
	mustRun(t, home, "note", id, "a note, so that run.cli.log is part of the folder")
	mustRun(t, home, "archive", id)
	before := runState(t, home, id)

	out := mustRun(t, home, "rm", id, "--yes")
	if !strings.Contains(out, id) || !strings.Contains(out, "moved 1 run to "+filepath.Join(home, "trash")) {
		t.Errorf("rm printed:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(home, "runs", id)); !os.IsNotExist(err) {
		t.Errorf("the run folder is still in runs/: %v", err)
	}
	var info trashInfo
	data, err := os.ReadFile(filepath.Join(home, "trash", "info", id+".json"))
	if err != nil || json.Unmarshal(data, &info) != nil || info.ID != id || info.Name != "resumed" || info.Removed == 0 || !strings.Contains(info.By, "@") {
		t.Errorf("trash info %s (%v): %+v", data, err, info)
	}
	if _, _, err := run(t, home, "show", id); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("show of a removed run: %v", err)
	}
	if _, ok := lsOne(t, home, id, "--all"); ok {
		t.Error("ls --all lists a removed run")
	}
	if out := mustRun(t, home, "restore"); !strings.Contains(out, id) || !strings.Contains(out, "resumed") {
		t.Errorf("restore lists the trash:\n%s", out)
	}

	if out := mustRun(t, home, "restore", id); out != "restored resumed  "+id+"\n" {
		t.Errorf("restore printed %q", out)
	}
	after := runState(t, home, id)
	for k := range before {
		if before[k] != after[k] {
			t.Errorf("%s differs after rm and restore:\nbefore:\n%s\nafter:\n%s", k, before[k], after[k])
		}
	}
	if _, err := os.Stat(filepath.Join(home, "trash", "info", id+".json")); !os.IsNotExist(err) {
		t.Errorf("the info file is left in the trash: %v", err)
	}
	if out := mustRun(t, home, "restore"); !strings.Contains(out, "is empty") {
		t.Errorf("restore lists an empty trash as:\n%s", out)
	}
}

func TestRmRefusals(t *testing.T) {
	home := fixtureHome(t)
	live, err := runlog.Init(runlog.Options{Home: home, Name: "live"})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Finish(0)
	live.Log(map[string]float64{"loss": 1})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown run", []string{"rm", "nosuchrun", "--yes"}, "not found"},
		{"running run", []string{"rm", "live", "--yes"}, "--force"},
		{"running run by filter", []string{"rm", "--status", "running", "--yes"}, "still running"},
		{"no terminal, no --yes", []string{"rm", "resumed"}, "add --yes"},
		{"nothing named", []string{"rm", "--yes"}, "no runs given"},
		{"names and filters", []string{"rm", "resumed", "--project", "x", "--yes"}, "not both"},
		{"unknown status", []string{"rm", "--status", "asleep", "--yes"}, "unknown status"},
		{"--older-than without --purge", []string{"rm", "resumed", "--older-than", "3d", "--yes"}, "--purge"},
		{"--purge with filters", []string{"rm", "--purge", "--project", "x"}, "--purge"},
		{"bad age", []string{"rm", "--purge", "--older-than", "soon"}, "invalid age"},
		{"purge of a run not in the trash", []string{"rm", "--purge", "resumed", "--yes"}, "not in the trash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, home, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q: %v, want an error saying %q", tc.args, err, tc.want)
			}
		})
	}
	// Nothing refused went anywhere.
	if entries, _ := os.ReadDir(filepath.Join(home, "runs")); len(entries) != 3 {
		t.Errorf("%d run folders left, want 3", len(entries))
	}

	// --force moves a running run; its process keeps writing, into the
	// trash, and restore brings back what it wrote.
	out := mustRun(t, home, "rm", "live", "--force", "--yes")
	if !strings.Contains(out, "moved 1 run") {
		t.Errorf("rm --force printed %q", out)
	}
	live.Log(map[string]float64{"loss": 0.5})
	live.Finish(0)
	mustRun(t, home, "restore", "live")
	if r, ok := lsOne(t, home, live.ID()); !ok || r.Status != "finished" {
		t.Errorf("restored live run: %+v, %v", r, ok)
	}

	// A removed run named again says where it is; so does one whose id is
	// in the trash when another run of that id is removed.
	mustRun(t, home, "rm", "resumed", "--yes")
	if _, _, err := run(t, home, "rm", "r7m2q4zz", "--yes"); err == nil || !strings.Contains(err.Error(), "in the trash already") {
		t.Errorf("rm of a run in the trash: %v", err)
	}
	copyDir(t, filepath.Join(home, "trash", "runs", "r7m2q4zz"), filepath.Join(home, "runs", "r7m2q4zz"))
	if _, _, err := run(t, home, "rm", "r7m2q4zz", "--yes"); err == nil || !strings.Contains(err.Error(), "rm --purge r7m2q4zz") {
		t.Errorf("rm of a run whose id is in the trash: %v", err)
	}
	// Restoring over a run that exists again is refused; both stay.
	if _, _, err := run(t, home, "restore", "r7m2q4zz"); err == nil || !strings.Contains(err.Error(), "again") {
		t.Errorf("restore over an existing run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(home, "trash", "runs", "r7m2q4zz", "run.log")); err != nil {
		t.Errorf("the trashed copy is gone: %v", err)
	}
	if _, _, err := run(t, home, "restore", "nosuchrun"); err == nil || !strings.Contains(err.Error(), "not in the trash") {
		t.Errorf("restore of an unknown run: %v", err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRmFiltersAndConfirmation(t *testing.T) {
	home := fixtureHome(t)
	now := time.Now()
	no, yes := "n\n", "yes\n"
	out, err := runAt(t, home, now, &no, "rm", "--status", "failed")
	if err != nil || !strings.Contains(out, "k3v9x2ab") || strings.Contains(out, "r7m2q4zz") || !strings.Contains(out, "nothing removed") {
		t.Errorf("rm --status failed, answered no: %v\n%s", err, out)
	}
	if _, ok := lsOne(t, home, "k3v9x2ab"); !ok {
		t.Fatal("a run was removed though the answer was no")
	}
	// Archived runs are left out of filters unless asked for, as ls does.
	mustRun(t, home, "archive", "k3v9x2ab")
	if out, err := runAt(t, home, now, &yes, "rm", "--status", "failed"); err != nil || !strings.Contains(out, "no runs match") {
		t.Errorf("rm --status failed of an archived run: %v\n%s", err, out)
	}
	out, err = runAt(t, home, now, &yes, "rm", "--status", "failed", "--archived")
	if err != nil || !strings.Contains(out, "Move 1 run to the trash? [y/N]") || !strings.Contains(out, "moved 1 run") {
		t.Errorf("rm --archived, answered yes: %v\n%s", err, out)
	}
	if _, ok := lsOne(t, home, "k3v9x2ab", "--all"); ok {
		t.Error("the run answered yes to is still listed")
	}
	if _, ok := lsOne(t, home, "r7m2q4zz"); !ok {
		t.Error("a run the filters did not select was removed")
	}
}

func TestPurge(t *testing.T) {
	home := fixtureHome(t)
	now := time.Now()
	if _, err := runAt(t, home, now.Add(-40*24*time.Hour), nil, "rm", "k3v9x2ab", "--yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := runAt(t, home, now.Add(-2*time.Hour), nil, "rm", "r7m2q4zz", "--yes"); err != nil {
		t.Fatal(err)
	}
	inTrash := func() string {
		var ids []string
		entries, _ := os.ReadDir(filepath.Join(home, "trash", "runs"))
		for _, e := range entries {
			ids = append(ids, e.Name())
		}
		return strings.Join(ids, ",")
	}
	// Other commands never delete from the trash, however old.
	mustRun(t, home, "ls")
	mustRun(t, home, "index", "--rebuild")
	if got := inTrash(); got != "k3v9x2ab,r7m2q4zz" {
		t.Fatalf("trash holds %q after ls and index", got)
	}
	if _, err := runAt(t, home, now, nil, "rm", "--purge"); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("purge without a terminal or --yes: %v", err)
	}
	// The default retention deletes what was removed over 30 days ago.
	out, err := runAt(t, home, now, nil, "rm", "--purge", "--yes")
	if err != nil || !strings.Contains(out, "k3v9x2ab") || !strings.Contains(out, "deleted 1 run for good") {
		t.Errorf("rm --purge: %v\n%s", err, out)
	}
	if got := inTrash(); got != "r7m2q4zz" {
		t.Errorf("trash holds %q after rm --purge, want r7m2q4zz", got)
	}
	if _, err := os.Stat(filepath.Join(home, "trash", "info", "k3v9x2ab.json")); !os.IsNotExist(err) {
		t.Errorf("the purged run's info file is left: %v", err)
	}
	if out, _ := runAt(t, home, now, nil, "rm", "--purge", "--older-than", "3h", "--yes"); !strings.Contains(out, "nothing in the trash") {
		t.Errorf("purge of nothing old enough printed:\n%s", out)
	}
	out, err = runAt(t, home, now, nil, "rm", "--purge", "--older-than", "1h", "--yes")
	if err != nil || !strings.Contains(out, "deleted 1 run") || inTrash() != "" {
		t.Errorf("rm --purge --older-than 1h: %v, trash %q\n%s", err, inTrash(), out)
	}

	// By id, whatever the age; --older-than 0 empties the trash.
	home = fixtureHome(t)
	mustRun(t, home, "rm", "--all", "--yes")
	mustRun(t, home, "rm", "--purge", "r7m2", "--yes")
	if got := inTrash(); got != "k3v9x2ab" {
		t.Errorf("trash holds %q after purging r7m2 by id prefix", got)
	}
	mustRun(t, home, "rm", "--purge", "--older-than", "0", "--yes")
	if got := inTrash(); got != "" {
		t.Errorf("trash holds %q after --older-than 0", got)
	}
}

func TestParseAge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"12h", 12 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"0", 0, true},
		{"0d", 0, true},
		{"-3d", 0, false},
		{"-1h", 0, false},
		{"d", 0, false},
		{"soon", 0, false},
		{"", 0, false},
		{"1e9d", 0, false},
	} {
		got, err := parseAge(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseAge(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
