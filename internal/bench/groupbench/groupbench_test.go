package groupbench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunSmall builds runlog and runs the benchmark at a tiny size, so
// that it keeps working; it asserts nothing about speed.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds runlog")
	}
	bin := filepath.Join(t.TempDir(), "runlog")
	build := exec.Command("go", "build", "-o", bin, "github.com/runlog/runlog/cmd/runlog")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build runlog: %v\n%s", err, out)
	}
	var out bytes.Buffer
	dir := filepath.Join(t.TempDir(), "home")
	os.MkdirAll(dir, 0o755)
	c := Config{Runlog: bin, Dir: dir, Groups: 3, Seeds: 2, Points: 3000, Repeat: 1, Out: &out}
	if err := Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| what | median | goal |", "`compare --group-by lr`", "`plot --group-by lr`", "`report`"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}
