package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/cli"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// TestMain lets the test binary run as the runlog command, so that tests
// can start a real server process and kill it.
func TestMain(m *testing.M) {
	if os.Getenv("RUNLOG_SERVER_TEST_MAIN") == "1" {
		os.Exit(cli.Main(os.Args[1:]))
	}
	verifyNoLeaks(m)
}

// serverProcess is `runlog ui` in a process of its own.
type serverProcess struct {
	cmd *exec.Cmd
	url string
}

func startServer(t *testing.T, home string) *serverProcess {
	t.Helper()
	return startRunlog(t, "ui", "--home", home, "--addr", "127.0.0.1:0")
}

// acks records the sizes the servers acknowledged, through a proxy that
// stays at one address while the servers behind it die and restart.
type acks struct {
	mu      sync.Mutex
	backend atomic.Value // *url.URL
	byGen   map[int][]int64
	gen     int
}

func (a *acks) proxy(t *testing.T) *httptest.Server {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(a.backend.Load().(*url.URL)) },
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Method != http.MethodPost || resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.Path, "/run.log") {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			var ans struct{ Size int64 }
			if json.Unmarshal(body, &ans) == nil {
				a.mu.Lock()
				a.byGen[a.gen] = append(a.byGen[a.gen], ans.Size)
				a.mu.Unlock()
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) },
		ErrorLog:     nil,
	}
	ts := httptest.NewServer(rp)
	t.Cleanup(ts.Close)
	return ts
}

func (a *acks) point(gen int, p *serverProcess) {
	u, _ := url.Parse(p.url)
	a.mu.Lock()
	a.gen = gen
	a.mu.Unlock()
	a.backend.Store(u)
}

func (a *acks) count(gen int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.byGen[gen])
}

func (a *acks) max(gen int) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var m int64
	for _, s := range a.byGen[gen] {
		m = max(m, s)
	}
	return m
}

// TestServerKilledWhileClientStreams kills the server (SIGKILL) while a
// client streams a run to it, and starts it again on the same home:
// nothing the first server acknowledged is missing, the client catches up
// without sending a point twice, and its local run.log stays complete.
func TestServerKilledWhileClientStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	serverHome := t.TempDir()
	a := &acks{byGen: map[int][]int64{}}
	first := startServer(t, serverHome)
	a.point(1, first)
	proxy := a.proxy(t)

	home := t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, Name: "killed-server", URL: proxy.URL, DisableGit: true,
		FlushInterval: 20 * time.Millisecond, StreamTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var steps atomic.Int64
	stop := make(chan struct{})
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		for step := int64(0); ; step++ {
			select {
			case <-stop:
				return
			default:
			}
			r.LogStep(step, map[string]float64{"train_loss": 1 / float64(step+1), "lr": 3e-4})
			steps.Store(step + 1)
			if step%50 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()

	waitFor(t, "the first server to acknowledge a few batches", func() bool { return a.count(1) >= 5 })
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.cmd.Wait()
	acked := a.max(1)
	fi, err := os.Stat(layout.RunLog(serverHome, r.ID()))
	if err != nil || fi.Size() < acked {
		t.Fatalf("after SIGKILL the server's run.log has %v bytes, but %d were acknowledged (%v)", fi.Size(), acked, err)
	}
	checkLocal(t, layout.RunLog(home, r.ID()))

	time.Sleep(300 * time.Millisecond) // the client backs off meanwhile
	second := startServer(t, serverHome)
	a.point(2, second)
	waitFor(t, "the client to reach the restarted server", func() bool { return a.count(2) >= 3 })
	checkLocal(t, layout.RunLog(home, r.ID()))
	close(stop)
	<-logged
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	second2 := append([]int64{}, a.byGen[2]...)
	a.mu.Unlock()
	if len(second2) == 0 || second2[0] < acked {
		t.Fatalf("the restarted server first answered size %v; the first had acknowledged %d", second2, acked)
	}

	local, _ := os.ReadFile(layout.RunLog(home, r.ID()))
	remote, _ := os.ReadFile(layout.RunLog(serverHome, r.ID()))
	if !bytes.Equal(local, remote) {
		t.Fatalf("the server's run.log (%d bytes) is not the client's (%d bytes)", len(remote), len(local))
	}
	n := steps.Load()
	waitFor(t, "the restarted server to index every point", func() bool { return countPoints(t, serverHome, r.ID()) == n })
	checkNoDuplicates(t, serverHome, r.ID(), n)

	// Ctrl-C (SIGINT) stops the server gracefully.
	second.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- second.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runlog ui after SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		second.cmd.Process.Kill()
		t.Error("runlog ui did not stop on SIGINT")
	}
	t.Logf("%d steps; %d bytes acknowledged before the kill, %d in all", n, acked, len(local))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkLocal checks that the client's run.log holds every step from 0 on,
// once, with no corrupt record.
func checkLocal(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rd := runfmt.NewReader(bytes.NewReader(data), path)
	next := int64(0)
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Type == runfmt.TypeMetrics {
			m, _ := rec.Metrics()
			if m.Step != next {
				t.Fatalf("local run.log: step %d after %d", m.Step, next-1)
			}
			next++
		}
	}
	if len(rd.Skipped()) > 0 {
		t.Fatalf("local run.log has corrupt records: %v", rd.Skipped())
	}
}

func countPoints(t *testing.T, home, id string) int64 {
	db, err := sqlite.Open(layout.Store(home))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ser, err := db.Series(context.Background(), id)
	if err != nil {
		return -1
	}
	for _, s := range ser {
		if s.Key == "train_loss" {
			return s.Stats.Count
		}
	}
	return 0
}

func checkNoDuplicates(t *testing.T, home, id string, n int64) {
	t.Helper()
	db, err := sqlite.Open(layout.Store(home))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pts, err := db.Points(context.Background(), id, "train_loss", store.PointsOptions{Superseded: true})
	if err != nil {
		t.Fatal(err)
	}
	if int64(pts.Len()) != n {
		t.Fatalf("%d points in the server's store, %d logged", pts.Len(), n)
	}
	for i, s := range pts.Steps {
		if s != int64(i) {
			t.Fatalf("point %d has step %d: a point is missing or doubled", i, s)
		}
	}
}
