package analyzebench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/layout"
)

func TestRunNeedsBinary(t *testing.T) {
	for _, bin := range []string{"", filepath.Join(t.TempDir(), "no-such-runlog")} {
		err := Run(context.Background(), Config{Runlog: bin, Dir: t.TempDir(), Runs: 1, Steps: 10})
		if err == nil || !strings.Contains(err.Error(), "go build -o bin/runlog") {
			t.Errorf("Runlog %q: err = %v, want one that says how to build it", bin, err)
		}
	}
}

func TestWriteRuns(t *testing.T) {
	home := t.TempDir()
	ids, err := writeRuns(home, 3, 120)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("%d runs, want 3", len(ids))
	}
	entries, err := os.ReadDir(filepath.Join(home, layout.RunsDir))
	if err != nil || len(entries) != 3 {
		t.Errorf("run folders: %d, %v; want 3", len(entries), err)
	}
}
