package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/objstore/weedtest"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// TestPull rebuilds a run folder from a team store: the logs a team
// server holds in PostgreSQL (appended in pieces, as clients stream them)
// come back byte for byte, and the run's files from the bucket, verified;
// an existing folder is never written over.
func TestPull(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// A real run, logged locally, its logs stored as a team server does.
	r, err := runlog.Init(runlog.Options{Home: t.TempDir(), URL: "-", Name: "pulled", DisableGit: true})
	if err != nil {
		t.Fatal(err)
	}
	for step := range 500 {
		r.LogStep(int64(step), map[string]float64{"train_loss": 1 / float64(step+1)})
	}
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	logs := map[string][]byte{"training.log": []byte("2026-12-06T05:00:00.000000Z\tstdout\tepoch 1\n")}
	if logs["run.log"], err = os.ReadFile(filepath.Join(r.Dir(), "run.log")); err != nil {
		t.Fatal(err)
	}
	for name, data := range logs {
		for off := 0; off < len(data); off += 1000 {
			piece := data[off:min(off+1000, len(data))]
			if _, err := db.AppendLog(ctx, r.ID(), name, int64(off), piece, func(int64, []byte) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	args := []string{"pull", r.ID(), "--store", dsn}
	files := map[string][]byte{"checkpoints/step-400.pt": bytes.Repeat([]byte("weights "), 4096), "media/samples/1-ab.txt": []byte("a sample")}
	if endpoint, err := weedtest.Find(); err == nil {
		t.Cleanup(weedtest.StopShared)
		url := fmt.Sprintf("s3://pulltest-%d/team?endpoint=%s", os.Getpid(), endpoint)
		loc, _ := objstore.ParseURL(url)
		s3, err := objstore.New(loc, objstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s3.CreateBucket(ctx); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if _, err := s3.Put(ctx, r.ID(), name, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
		}
		args = append(args, "--files", url)
	} else {
		t.Logf("files not pulled: no S3 server (%v)", err)
		files = nil
	}

	home := t.TempDir()
	out := mustRun(t, home, args...)
	dir := filepath.Join(home, "runs", r.ID())
	for name, want := range logs {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("pulled %s: %d bytes (%v), want the %d the server held", name, len(got), err, len(want))
		}
	}
	for name, want := range files {
		if got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))); err != nil || !bytes.Equal(got, want) {
			t.Errorf("pulled file %s: %d bytes (%v), want %d", name, len(got), err, len(want))
		}
	}
	if !strings.Contains(out, "pulled run "+r.ID()) {
		t.Errorf("pull printed %q", out)
	}
	// Never over an existing folder.
	if _, _, err := run(t, home, args...); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("pull over an existing folder: %v, want a refusal", err)
	}
	// A run the team store does not hold.
	if _, _, err := run(t, home, "pull", "nosuchrun", "--store", dsn); err == nil {
		t.Error("pull of an unknown run succeeded")
	}
}
