package cli

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/remote"
)

// TestSyncFiles: sync sends a run's files by the policy, with its media,
// once.
func TestSyncFiles(t *testing.T) {
	home := t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, Name: "with-files", DisableGit: true, URL: "-"})
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	files := map[string][]byte{}
	for i, loss := range []float64{3, 2, 2.5} {
		name := fmt.Sprintf("step-%d.pt", i+1)
		data := bytes.Repeat([]byte{byte(i)}, 5000)
		os.WriteFile(filepath.Join(src, name), data, 0o644)
		if err := r.LogArtifact(filepath.Join(src, name), runlog.Artifact{Kind: "checkpoint", Step: int64(i + 1), Metadata: map[string]any{"val_loss": loss}}); err != nil {
			t.Fatal(err)
		}
		files["checkpoints/"+name] = data
	}
	if err := r.LogImage(3, "grid", image.NewGray(image.Rect(0, 0, 8, 8)), "a grid"); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	serverHome, ts := syncServer(t, "")

	out := mustRun(t, home, "sync", "--url", ts.URL, "--files", "best")
	server := layout.RunDir(serverHome, r.ID())
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(server, name))
		best := name == "checkpoints/step-1.pt" || name == "checkpoints/step-2.pt" // the best so far, each in turn; the final best kept
		switch {
		case name == "checkpoints/step-2.pt" && !bytes.Equal(got, data):
			t.Errorf("the best checkpoint on the server: %d bytes, %v", len(got), err)
		case !best && err == nil:
			t.Errorf("--files best sent %s", name)
		}
	}
	media, _ := filepath.Glob(filepath.Join(layout.RunDir(home, r.ID()), "media", "*", "*"))
	if len(media) == 0 {
		t.Fatal("the run wrote no media files")
	}
	for _, m := range media {
		rel, _ := filepath.Rel(layout.RunDir(home, r.ID()), m)
		sameFile(t, m, filepath.Join(server, rel))
	}
	if !strings.Contains(out, "checkpoints/step-2.pt") {
		t.Errorf("sync printed:\n%s", out)
	}

	// all: the rest goes; what went before is not sent again.
	out = mustRun(t, home, "sync", "--url", ts.URL, "--files", "all")
	for name := range files {
		sameFile(t, filepath.Join(layout.RunDir(home, r.ID()), name), filepath.Join(server, name))
	}
	if strings.Contains(out, "step-2.pt") || !strings.Contains(out, "step-3.pt") {
		t.Errorf("the second sync printed:\n%s", out)
	}
	out = mustRun(t, home, "sync", "--url", ts.URL, "--files", "all")
	if !strings.Contains(out, "1 runs, 0 bytes sent") {
		t.Errorf("a third sync sent something:\n%s", out)
	}
	st, err := remote.LoadUploads(layout.RunDir(home, r.ID()))
	if err != nil || len(st.Pending) != 0 || st.URL != ts.URL {
		t.Errorf("uploads.json: %+v, %v", st, err)
	}
}
