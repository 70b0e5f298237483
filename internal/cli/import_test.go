package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportTensorBoard(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join("..", "tbimport", "testdata", "torch")
	out := mustRun(t, home, "import", "tensorboard", dir, "--project", "tb")
	for _, want := range []string{"baseline", "sweep/lr-0.1", "sweep/lr-0.01", "(new run)", "points from"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	again := mustRun(t, home, "import", "tensorboard", dir, "--project", "tb")
	if strings.Count(again, "up to date") != 3 {
		t.Errorf("a second import is not up to date:\n%s", again)
	}

	var runs []struct {
		Name    string   `json:"name"`
		Project string   `json:"project"`
		Status  string   `json:"status"`
		Tags    []string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, home, "ls", "--json")), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 {
		t.Fatalf("ls lists %d runs; want 3", len(runs))
	}
	for _, r := range runs {
		if r.Project != "tb" || r.Status != "finished" {
			t.Errorf("run %+v", r)
		}
	}
	show := mustRun(t, home, "show", "baseline", "--chart", "none")
	if !strings.Contains(show, "Loss/train") || !strings.Contains(show, "Loss/val") {
		t.Errorf("show of an imported run:\n%s", show)
	}
}

func TestImportTensorBoardCorrupt(t *testing.T) {
	home := t.TempDir()
	out, errOut, err := run(t, home, "import", "tensorboard", filepath.Join("..", "tbimport", "testdata", "corrupt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "offset 134: skipped") || !strings.Contains(errOut, "cut short") || !strings.Contains(out, "(new run)") {
		t.Errorf("import of a corrupt file:\n%s\nwarnings:\n%s", out, errOut)
	}
	if _, _, err := run(t, home, "import", "tensorboard", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no TensorBoard event files") {
		t.Errorf("import of an empty folder: %v", err)
	}
}
