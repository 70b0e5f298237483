package runlog_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// serve starts a runlog server on a fresh home, on addr ("" for any free
// port), and returns its home and URL.
func serve(t *testing.T, addr string) (string, *httptest.Server, *server.Server) {
	t.Helper()
	home := t.TempDir()
	s, err := server.New(server.Options{Home: home, Addr: "127.0.0.1:0", Logf: t.Logf, IndexInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(s.Handler())
	if addr != "" {
		ts.Listener.Close()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		ts.Listener = ln
	}
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return home, ts, s
}

// sameLog checks that the server holds the client's run.log byte for byte.
func sameLog(t *testing.T, clientHome, serverHome, id, stream string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join(layout.RunDir(clientHome, id), stream))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(layout.RunDir(serverHome, id), stream))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the server's %s has %d bytes, the client's %d, and they differ", stream, len(got), len(want))
	}
}

func logSteps(t *testing.T, r *runlog.Run, from, to int64, pause time.Duration) {
	t.Helper()
	for step := from; step < to; step++ {
		if err := r.LogStep(step, map[string]float64{"train_loss": 1 / float64(step+1), "lr": 1e-3}); err != nil {
			t.Fatal(err)
		}
		if pause > 0 && step%100 == 0 {
			time.Sleep(pause)
		}
	}
}

func TestStreamToServer(t *testing.T) {
	serverHome, ts, _ := serve(t, "")
	home := t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, Name: "streamed", URL: ts.URL, DisableGit: true, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, r, 0, 3000, time.Millisecond)
	ckpt := filepath.Join(r.Dir(), "ckpt.pt")
	os.WriteFile(ckpt, []byte("w"), 0o644)
	r.LogArtifact(ckpt, runlog.Artifact{Kind: "checkpoint", Step: 2999})
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	sameLog(t, home, serverHome, r.ID(), "run.log")
	waitPoints(t, serverHome, r.ID(), "train_loss", 3000)
}

// waitPoints waits until the server's store holds n points of a series.
func waitPoints(t *testing.T, home, id, key string, n int) {
	t.Helper()
	st := openStore(t, home)
	defer st.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pts, err := st.Points(context.Background(), id, key, store.PointsOptions{})
		if err == nil && pts.Len() == n {
			for i := 1; i < pts.Len(); i++ {
				if pts.Steps[i] == pts.Steps[i-1] {
					t.Fatalf("step %d is there twice", pts.Steps[i])
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's store has %d points of %s, want %d (%v)", pts.Len(), key, n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStreamCatchesUpAfterServerStarts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there yet
	home := t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, URL: "http://" + addr, DisableGit: true, FlushInterval: 20 * time.Millisecond,
		StreamTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, r, 0, 2000, time.Millisecond)
	serverHome, _, _ := serve(t, addr)
	logSteps(t, r, 2000, 4000, time.Millisecond)
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	sameLog(t, home, serverHome, r.ID(), "run.log")
}

func TestStreamResendsWhenTheServerLostData(t *testing.T) {
	serverHome, ts, _ := serve(t, "")
	home := t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, URL: ts.URL, DisableGit: true, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, r, 0, 1000, time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if fi, err := os.Stat(layout.RunLog(serverHome, r.ID())); err == nil && fi.Size() > 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing streamed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The server's copy is gone (its disk was replaced): it answers 409
	// with size 0, and the client sends everything again.
	os.RemoveAll(layout.RunDir(serverHome, r.ID()))
	logSteps(t, r, 1000, 2000, time.Millisecond)
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	sameLog(t, home, serverHome, r.ID(), "run.log")
}

func TestFinishGivesUpOnAnUnreachableServer(t *testing.T) {
	var calls atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	home := t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, URL: down.URL, DisableGit: true, StreamTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, r, 0, 100, 0)
	start := time.Now()
	if err := r.Finish(0); err != nil {
		t.Fatalf("Finish: %v; a server that is down must not fail the run", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("Finish took %v with a stream timeout of 300ms", el)
	}
	if calls.Load() == 0 {
		t.Error("the client never tried the server")
	}
	c := readLog(t, layout.RunLog(home, r.ID()))
	if len(c.points["train_loss"]) != 100 || c.status.Status != "finished" {
		t.Errorf("local run.log: %d points, status %q", len(c.points["train_loss"]), c.status.Status)
	}
}

func TestStreamResumedAndAttached(t *testing.T) {
	serverHome, ts, _ := serve(t, "")
	home := t.TempDir()
	opts := runlog.Options{Home: home, ID: "resumable", URL: ts.URL, DisableGit: true}
	r, err := runlog.Init(opts)
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, r, 0, 100, 0)
	r.Finish(1)
	opts.Resume = "must"
	r, err = runlog.Init(opts)
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, r, 100, 200, 0)
	t.Setenv(runlog.EnvRunID, "resumable")
	a, err := runlog.Init(runlog.Options{Home: home, URL: ts.URL, DisableGit: true})
	if err != nil {
		t.Fatal(err)
	}
	a.LogStep(5, map[string]float64{"attached": 1})
	if err := a.Finish(0); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	sameLog(t, home, serverHome, "resumable", "run.log")
	matches, _ := filepath.Glob(filepath.Join(layout.RunDir(home, "resumable"), "run.go-*.log"))
	if len(matches) != 1 {
		t.Fatalf("attached logs: %v", matches)
	}
	sameLog(t, home, serverHome, "resumable", filepath.Base(matches[0]))
	waitPoints(t, serverHome, "resumable", "attached", 1)
}

func openStore(t *testing.T, home string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(layout.Store(home))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestWrongToken streams to a server that refuses the client's token: one
// warning that says what to do, the run is logged locally, and Finish does
// not wait for a server that will not take the data.
func TestWrongToken(t *testing.T) {
	home := t.TempDir()
	s, err := server.New(server.Options{Home: t.TempDir(), Addr: "127.0.0.1:0", Token: "s3cret", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer func() { ts.Close(); s.Close() }()

	read, write, _ := os.Pipe()
	stderr := os.Stderr
	os.Stderr = write
	r, err := runlog.Init(runlog.Options{Home: home, URL: ts.URL, Token: "wrong", DisableGit: true})
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, r, 0, 50, 0)
	start := time.Now()
	err = r.Finish(0)
	el := time.Since(start)
	os.Stderr = stderr
	write.Close()
	out, _ := io.ReadAll(read)
	if err != nil || el > 2*time.Second {
		t.Errorf("Finish: %v after %v; with a refused token it need not wait", err, el)
	}
	if n := bytes.Count(out, []byte("\n")); n != 1 || !bytes.Contains(out, []byte("RUNLOG_TOKEN")) || !bytes.Contains(out, []byte("runlog sync")) {
		t.Errorf("stderr:\n%s\nwant one line naming RUNLOG_TOKEN and runlog sync", out)
	}
	if c := readLog(t, layout.RunLog(home, r.ID())); len(c.points["train_loss"]) != 50 {
		t.Errorf("local run.log has %d points", len(c.points["train_loss"]))
	}
}
