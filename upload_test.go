package runlog_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/objstore/weedtest"
	"github.com/runlog/runlog/internal/remote"
	"github.com/runlog/runlog/internal/server"
)

// saveCheckpoints registers four checkpoints with validation losses 3, 2,
// 2.5 and 2.8 (the second is the best, the fourth the latest) and a model
// file, as a training loop does.
func saveCheckpoints(t *testing.T, r *runlog.Run) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	src := t.TempDir()
	for i, loss := range []float64{3, 2, 2.5, 2.8} {
		name := fmt.Sprintf("step-%d.pt", (i+1)*100)
		data := make([]byte, 1000+i)
		rand.Read(data)
		p := filepath.Join(src, name)
		os.WriteFile(p, data, 0o644)
		if err := r.LogArtifact(p, runlog.Artifact{Kind: "checkpoint", Step: int64(i+1) * 100, Metadata: map[string]any{"val_loss": loss}}); err != nil {
			t.Fatal(err)
		}
		files["checkpoints/"+name] = data
	}
	p := filepath.Join(src, "model.onnx")
	os.WriteFile(p, []byte("a model"), 0o644)
	if err := r.LogArtifact(p, runlog.Artifact{Kind: "model", Step: -1}); err != nil {
		t.Fatal(err)
	}
	files["artifacts/model.onnx"] = []byte("a model")
	return files
}

func TestUploadPolicies(t *testing.T) {
	for _, c := range []struct {
		policy        string
		want, notWant []string
	}{
		{"none", nil, []string{"artifacts/model.onnx", "checkpoints/step-100.pt", "checkpoints/step-200.pt", "checkpoints/step-300.pt", "checkpoints/step-400.pt"}},
		{"best", []string{"artifacts/model.onnx", "checkpoints/step-100.pt", "checkpoints/step-200.pt"}, []string{"checkpoints/step-300.pt", "checkpoints/step-400.pt"}},
		// step-300 may go up as the latest before step-400 replaces it.
		{"best+last", []string{"artifacts/model.onnx", "checkpoints/step-100.pt", "checkpoints/step-200.pt", "checkpoints/step-400.pt"}, nil},
		{"all", []string{"artifacts/model.onnx", "checkpoints/step-100.pt", "checkpoints/step-200.pt", "checkpoints/step-300.pt", "checkpoints/step-400.pt"}, nil},
	} {
		t.Run(c.policy, func(t *testing.T) {
			serverHome, ts, _ := serve(t, "")
			home := t.TempDir()
			r, err := runlog.Init(runlog.Options{Home: home, URL: ts.URL, Upload: c.policy, DisableGit: true})
			if err != nil {
				t.Fatal(err)
			}
			logSteps(t, r, 0, 10, 0)
			files := saveCheckpoints(t, r)
			if err := r.Finish(0); err != nil {
				t.Fatal(err)
			}
			dir := layout.RunDir(serverHome, r.ID())
			for _, name := range c.want {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || !bytes.Equal(got, files[name]) {
					t.Errorf("the server's %s: %d bytes, %v; want the client's %d", name, len(got), err, len(files[name]))
				}
			}
			for _, name := range c.notWant {
				if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
					t.Errorf("policy %s uploaded %s", c.policy, name)
				}
			}
			st, err := remote.LoadUploads(r.Dir())
			if err != nil || len(st.Pending) != 0 {
				t.Errorf("uploads.json after Finish: %+v, %v; want nothing pending", st, err)
			}
			for _, name := range c.want {
				if st.Acked[name] == "" {
					t.Errorf("uploads.json does not record %s as acknowledged", name)
				}
			}
		})
	}
}

// TestUploadWaitsForS3 is the team server with its S3 store down: the
// run's metrics keep flowing to the server, its checkpoint waits in the
// run folder's queue and goes up once S3 is back.
func TestUploadWaitsForS3(t *testing.T) {
	weed := weedtest.StartT(t)
	var b [4]byte
	rand.Read(b[:])
	st, err := objstore.New(objstore.Location{Bucket: "runlog-test", Prefix: "upload-waits-" + hex.EncodeToString(b[:]), Endpoint: weed.Endpoint, Region: "us-east-1"},
		objstore.Options{PartSize: 5 << 20, RetryFor: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	serverHome := t.TempDir()
	s, err := server.New(server.Options{Home: serverHome, Addr: "127.0.0.1:0", Logf: t.Logf, IndexInterval: 50 * time.Millisecond, Files: st})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })

	if err := weed.Stop(); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, URL: ts.URL, DisableGit: true, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ckpt := make([]byte, 7<<20) // two parts
	rand.Read(ckpt)
	p := filepath.Join(t.TempDir(), "step-1.pt")
	os.WriteFile(p, ckpt, 0o644)
	if err := r.LogArtifact(p, runlog.Artifact{Kind: "checkpoint", Step: 1, Metadata: map[string]any{"val_loss": 1.5}}); err != nil {
		t.Fatal(err)
	}
	// Metrics flow while S3 is down.
	logSteps(t, r, 0, 200, 0)
	waitFor(t, "the metrics on the server", func() bool {
		fi, err := os.Stat(filepath.Join(layout.RunDir(serverHome, r.ID()), layout.RunLogFile))
		local, _ := os.Stat(layout.RunLog(home, r.ID()))
		return err == nil && fi.Size() > 0 && fi.Size() == local.Size()
	})
	if st, _ := remote.LoadUploads(r.Dir()); len(st.Pending) != 1 || st.Pending[0].Path != "checkpoints/step-1.pt" {
		t.Fatalf("while S3 is down, uploads.json: %+v; want the checkpoint waiting", st)
	}
	// S3 back: the checkpoint goes up.
	if err := weed.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the checkpoint's upload", func() bool {
		st, _ := remote.LoadUploads(r.Dir())
		return len(st.Pending) == 0 && st.Acked["checkpoints/step-1.pt"] != ""
	})
	resp, err := http.Get(ts.URL + "/api/v1/runs/" + r.ID() + "/files/checkpoints/step-1.pt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, ckpt) {
		t.Fatalf("the checkpoint from the server: %d %d bytes, want the %d written", resp.StatusCode, len(got), len(ckpt))
	}
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUploadLeftForSync: a run whose server is gone at Finish keeps its
// queue in the run folder.
func TestUploadLeftForSync(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	home := t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, URL: down.URL, DisableGit: true, StreamTimeout: 200 * time.Millisecond, UploadTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	saveCheckpoints(t, r)
	start := time.Now()
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("Finish took %v with timeouts of 200ms", el)
	}
	st, err := remote.LoadUploads(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var pending []string
	for _, f := range st.Pending {
		pending = append(pending, f.Path)
	}
	// best+last: the model, the two bests, the latest (step-300 replaced).
	if got := strings.Join(pending, " "); got != "checkpoints/step-100.pt checkpoints/step-200.pt checkpoints/step-400.pt artifacts/model.onnx" {
		t.Errorf("queue left in uploads.json: %s", got)
	}
}

// fillingFile is a run.log on a disk that fills and is freed again.
type fillingFile struct {
	f interface {
		Write([]byte) (int, error)
		Sync() error
		Close() error
	}
	full atomic.Bool
}

func (f *fillingFile) Write(p []byte) (int, error) {
	if f.full.Load() {
		return 0, syscall.ENOSPC
	}
	return f.f.Write(p)
}
func (f *fillingFile) Sync() error  { return f.f.Sync() }
func (f *fillingFile) Close() error { return f.f.Close() }

// TestDiskFullThenSync: a client's disk fills while it streams, and the
// server is gone when it is freed. What the server acknowledged stays;
// nothing logged is lost; runlog sync (Push and SyncFiles) sends the rest
// of the log and the checkpoint.
func TestDiskFullThenSync(t *testing.T) {
	serverHome, ts, _ := serve(t, "")
	var down atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		ts.Config.Handler.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	home := t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, URL: proxy.URL, DisableGit: true, FlushInterval: 10 * time.Millisecond,
		StreamTimeout: 200 * time.Millisecond, UploadTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ff := &fillingFile{f: runlog.FileForTest(r)}
	runlog.SetFileForTest(r, ff)
	serverLog := filepath.Join(layout.RunDir(serverHome, r.ID()), layout.RunLogFile)
	logSteps(t, r, 0, 300, 0)
	waitFor(t, "the first 300 steps on the server", func() bool {
		fi, err := os.Stat(serverLog)
		local, _ := os.Stat(layout.RunLog(home, r.ID()))
		return err == nil && fi.Size() == local.Size()
	})
	acked, _ := os.ReadFile(serverLog)

	// The disk fills; the server goes away; training goes on.
	ff.full.Store(true)
	down.Store(true)
	logSteps(t, r, 300, 600, 0)
	ckpt := []byte("the weights at step 599")
	p := filepath.Join(t.TempDir(), "step-599.pt")
	os.WriteFile(p, ckpt, 0o644)
	if err := r.LogArtifact(p, runlog.Artifact{Kind: "checkpoint", Step: 599, Metadata: map[string]any{"val_loss": 1.0}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the writer tries and fails
	if got, _ := os.ReadFile(serverLog); !bytes.Equal(got, acked) {
		t.Fatalf("the server's log changed while the client's disk was full: %d bytes, had %d", len(got), len(acked))
	}
	// Freed: the run finishes locally; the server is still away.
	ff.full.Store(false)
	if err := r.Finish(0); err != nil {
		t.Fatalf("Finish after the disk was freed: %v", err)
	}
	c := readLog(t, layout.RunLog(home, r.ID()))
	if n := len(c.points["train_loss"]); n != 600 {
		t.Fatalf("the local log holds %d of 600 points", n)
	}
	if got, _ := os.ReadFile(serverLog); !bytes.HasPrefix(got, acked) {
		t.Fatal("the server lost acknowledged bytes")
	}

	// The server is back: runlog sync sends the rest.
	down.Store(false)
	cl := &remote.Client{URL: proxy.URL, Agent: "test"}
	if _, err := cl.Push(context.Background(), layout.RunLog(home, r.ID()), r.ID(), layout.RunLogFile); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.SyncFiles(context.Background(), r.Dir(), r.ID(), remote.PolicyBestLast, nil); err != nil {
		t.Fatal(err)
	}
	sameLog(t, home, serverHome, r.ID(), layout.RunLogFile)
	got, err := os.ReadFile(filepath.Join(layout.RunDir(serverHome, r.ID()), "checkpoints", "step-599.pt"))
	if err != nil || !bytes.Equal(got, ckpt) {
		t.Fatalf("the checkpoint on the server: %q, %v", got, err)
	}
}
