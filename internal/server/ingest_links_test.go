package server

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/layout"
)

// TestIngestRefusesLinksOut: a stream whose file in the run folder is a
// symbolic link that leads out of it is neither read, truncated nor
// appended to.
func TestIngestRefusesLinksOut(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	data, err := os.ReadFile(filepath.Join("..", "runfmt", "testdata", "basic.runlog"))
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	outside := filepath.Join(t.TempDir(), "victim.log")
	if err := os.WriteFile(outside, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The links are made once the server runs: its indexer reads run
	// folders too, and that is not what this test is about.
	_, ts := newTestServer(t, home, Options{IndexInterval: time.Hour})
	dir := layout.RunDir(home, fixtureBasic)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"run.log", "training.log"} {
		if err := os.Symlink(outside, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	url := func(stream string, off int) string {
		return fmt.Sprintf("/api/v1/ingest/%s/%s?offset=%d", fixtureBasic, stream, off)
	}
	runScenarios(t, ts.URL, []scenario{
		{name: "append to a run.log that leads out", method: "POST", url: url("run.log", 0), body: data, status: 400, contains: []string{"outside the run folder"}},
		{name: "ask its size", method: "POST", url: url("run.log", 0), status: 400},
		{name: "append to a training.log that leads out", method: "POST", url: url("training.log", 9), body: []byte("line\n"), status: 400},
		{name: "compare bytes with it", method: "POST", url: url("training.log", 0), body: []byte("precious\n"), status: 400},
	})
	if got, _ := os.ReadFile(outside); string(got) != "precious\n" {
		t.Errorf("the file outside the run folder was changed: %q", got)
	}
}
