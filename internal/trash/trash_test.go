package trash

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/layout"
)

func makeRun(t *testing.T, home, id string) {
	t.Helper()
	dir := layout.RunDir(home, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, layout.RunLogFile), []byte("log of "+id), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMoveAndRestore(t *testing.T) {
	home := t.TempDir()
	makeRun(t, home, "abc12345")
	makeRun(t, home, "abd99999")
	if err := Move(home, Info{ID: "abc12345", Name: "base", Removed: 100, By: "me@host"}); err != nil {
		t.Fatal(err)
	}
	if err := Move(home, Info{ID: "abd99999", Name: "base", Removed: 200}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(layout.RunDir(home, "abc12345")); !os.IsNotExist(err) {
		t.Errorf("the folder is still in runs: %v", err)
	}
	all, err := List(home)
	if err != nil || len(all) != 2 || all[0].ID != "abd99999" || all[1].By != "me@host" {
		t.Fatalf("List: %+v, %v", all, err)
	}
	for _, tt := range []struct{ ref, id, err string }{
		{"abc12345", "abc12345", ""},
		{"abc", "abc12345", ""},
		{"ab", "", "matches 2 runs"},
		{"base", "", "matches 2 runs"},
		{"zzz", "", "not in the trash"},
	} {
		info, err := Find(all, tt.ref)
		if info.ID != tt.id || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Find(%q) = %q, %v", tt.ref, info.ID, err)
		}
	}
	if _, err := Find(all, "zzz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find of a run not there: %v, want ErrNotFound", err)
	}

	// A run of the same id in runs again is not restored over.
	makeRun(t, home, "abc12345")
	if _, err := Restore(home, "abc12345"); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "again") {
		t.Errorf("restore over a folder: %v", err)
	}
	// Nor is one moved to the trash over the copy there.
	if err := Move(home, Info{ID: "abc12345"}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "in the trash already") {
		t.Errorf("move over a trashed copy: %v", err)
	}
	os.RemoveAll(layout.RunDir(home, "abc12345"))
	dir, err := Restore(home, "abc12345")
	if err != nil || dir != layout.RunDir(home, "abc12345") {
		t.Fatalf("Restore: %q, %v", dir, err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, layout.RunLogFile)); err != nil || string(data) != "log of abc12345" {
		t.Errorf("restored log %q, %v", data, err)
	}
	if _, err := os.Stat(layout.TrashInfo(home, "abc12345")); !os.IsNotExist(err) {
		t.Errorf("the info file stays: %v", err)
	}
	if _, err := Restore(home, "abc12345"); !errors.Is(err, ErrNotFound) {
		t.Errorf("restore twice: %v", err)
	}
	if err := Move(home, Info{ID: "nosuch99"}); err == nil {
		t.Error("moved a run without a folder")
	}
	if err := Purge(home, "abd99999"); err != nil {
		t.Fatal(err)
	}
	if all, _ := List(home); len(all) != 0 {
		t.Errorf("after Purge the trash holds %+v", all)
	}
}
