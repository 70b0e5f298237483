package compatbench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/runlog/runlog/internal/mlflow"
	"github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

//go:embed loadgen.py
var loadgen []byte

// mlflowRow is one measured target.
type mlflowRow struct {
	Target  string
	Points  int64
	Batches int64
	Errors  int64
	Seconds float64
	Check   string // what the target stored, checked after the load
	// ServerCPU is the CPU time the server spent per call, where it is
	// this process.
	ServerCPU time.Duration
	// Replayed marks a load from Go instead of the Python client.
	Replayed bool
	// IndexLag is how long the first read after the load took: it indexes
	// what the server had not indexed yet.
	IndexLag time.Duration
}

// cpuTime returns the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r mlflowRow) rate() float64 { return float64(r.Points) / r.Seconds }

func benchMLflow(ctx context.Context, c Config, work string) ([]mlflowRow, error) {
	clients, seconds, batch := c.Clients, c.Seconds, c.Batch
	script := filepath.Join(work, "loadgen.py")
	if err := os.WriteFile(script, loadgen, 0o644); err != nil {
		return nil, err
	}
	var rows []mlflowRow

	// runlog's MLflow API, served by this process as `runlog ui` serves
	// it: the whole server, indexing the run folders every second.
	for _, replayed := range []bool{false, true} {
		home := filepath.Join(work, fmt.Sprintf("home-%v", replayed))
		url, stop, err := serveRunlog(home)
		if err != nil {
			return nil, err
		}
		cpu := cpuTime()
		var row mlflowRow
		if replayed {
			row, err = replay(url, clients, seconds, batch)
		} else {
			row, err = runLoad(ctx, c, script, url)
		}
		if err != nil {
			stop()
			return nil, fmt.Errorf("runlog: %w", err)
		}
		// Every acknowledged point is on disk; a call that reads indexes
		// what the store does not have yet. Time that too.
		start := time.Now()
		err = post(http.DefaultClient, url+"/api/2.0/mlflow/runs/search", []byte(`{"experiment_ids": ["0"], "max_results": 1}`), nil)
		row.IndexLag = time.Since(start)
		cpu = cpuTime() - cpu
		stop()
		if err != nil {
			return nil, fmt.Errorf("runlog: runs/search after the load: %w", err)
		}
		row.Target = "runlog (`runlog ui`: its MLflow API, SQLite store)"
		row.Replayed = replayed
		if row.Batches > 0 {
			row.ServerCPU = cpu / time.Duration(row.Batches) // with replay, the Go client's part included
		}
		n, err := storedPoints(home)
		if err != nil {
			return nil, err
		}
		row.Check = fmt.Sprintf("%d points in the store", n)
		rows = append(rows, row)
	}

	// MLflow's own server.
	if !c.NoMLflowServer {
		mrows, err := benchMLflowServer(ctx, c, work, script)
		if err != nil {
			return nil, fmt.Errorf("mlflow server: %w", err)
		}
		rows = append(rows, mrows...)
	}

	// A server that discards: the most the client can send.
	url, stop, err := serve(http.HandlerFunc(discard))
	if err != nil {
		return nil, err
	}
	row, err := runLoad(ctx, c, script, url)
	stop()
	if err != nil {
		return nil, fmt.Errorf("discarding server: %w", err)
	}
	row.Target = "a server that discards everything (the client's own limit)"
	rows = append(rows, row)
	return rows, nil
}

// serveRunlog serves a runlog server for home, with the MLflow API
// mounted as `runlog ui` mounts it, on a free port of the loopback
// interface.
func serveRunlog(home string) (string, func(), error) {
	srv, err := server.New(server.Options{Home: home, Addr: "127.0.0.1:0",
		Logf: func(string, ...any) {},
		Mounts: func(st store.Store) map[string]http.Handler {
			h := mlflow.NewHandler(st, home, mlflow.Options{})
			return map[string]http.Handler{mlflow.TrackingPrefix: h, mlflow.ArtifactsPrefix: h}
		}})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	return "http://" + ln.Addr().String(), func() { cancel(); <-done; srv.Close() }, nil
}

// storedPoints counts the points of every run in home's store.
func storedPoints(home string) (int64, error) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(home, "runlog.db"))
	if err != nil {
		return 0, err
	}
	defer st.Close()
	runs, err := st.Runs(ctx, store.Filter{})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, r := range runs {
		ser, err := st.Series(ctx, r.ID)
		if err != nil {
			return 0, err
		}
		for _, x := range ser {
			n += x.Stats.Count
		}
	}
	return n, nil
}

// serve serves h on a free port of the loopback interface.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// discard answers runs/create with a run and every other call with {}.
func discard(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(r.URL.Path, "/runs/create") {
		io.WriteString(w, `{"run":{"info":{"run_id":"r","run_uuid":"r","experiment_id":"0","status":"RUNNING","lifecycle_stage":"active","artifact_uri":"mlflow-artifacts:/0/r/artifacts"},"data":{}}}`)
		return
	}
	io.WriteString(w, "{}")
}

// runLoad runs the load generator against url.
func runLoad(ctx context.Context, c Config, script, url string) (mlflowRow, error) {
	cmd := exec.CommandContext(ctx, c.Python, script, url, fmt.Sprint(c.Clients), fmt.Sprint(c.Seconds), fmt.Sprint(c.Batch))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "GIT_PYTHON_REFRESH=quiet", "MLFLOW_HTTP_REQUEST_TIMEOUT=600")
	out, err := cmd.Output()
	if err != nil {
		return mlflowRow{}, fmt.Errorf("load generator: %v\n%s", err, tail(stderr.String()))
	}
	var row mlflowRow
	if err := json.Unmarshal(out, &row); err != nil {
		return row, fmt.Errorf("load generator printed %q: %v\n%s", out, err, tail(stderr.String()))
	}
	if row.Errors > 0 {
		fmt.Fprintf(c.Log, "%d log_batch calls failed:\n%s\n", row.Errors, tail(stderr.String()))
	}
	return row, nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// benchMLflowServer starts `mlflow server` with a SQLite backend and loads
// it.
func benchMLflowServer(ctx context.Context, c Config, work, script string) ([]mlflowRow, error) {
	python := c.Python
	dir := filepath.Join(work, "mlflow-server")
	os.MkdirAll(dir, 0o755)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	db := filepath.Join(dir, "mlflow.db")
	cmd := exec.Command(filepath.Join(filepath.Dir(python), "mlflow"), "server",
		"--backend-store-uri", "sqlite:///"+db, "--artifacts-destination", filepath.Join(dir, "artifacts"),
		"--host", "127.0.0.1", "--port", fmt.Sprint(port))
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := WaitHealthy(url, 120*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return nil, fmt.Errorf("%v\n%s", err, tail(string(log)))
	}
	row, err := runLoad(ctx, c, script, url)
	if err != nil {
		return nil, err
	}
	row.Target = "MLflow's own server (mlflow server, SQLite backend, 4 workers)"
	out, err := exec.Command(python, "-c", `import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from metrics").fetchone()[0])`, db).Output()
	if err == nil {
		row.Check = strings.TrimSpace(string(out)) + " rows in its metrics table"
	}
	rrow, err := replay(url, c.Clients, c.Seconds, c.Batch)
	if err != nil {
		return nil, fmt.Errorf("replayed: %w", err)
	}
	rrow.Target = "MLflow's own server (mlflow server, SQLite backend, 4 workers)"
	rrow.Replayed = true
	return []mlflowRow{row, rrow}, nil
}

// WaitHealthy waits up to limit for the MLflow server at url to answer
// /health.
func WaitHealthy(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer /health within %s", url, limit)
}

func printMLflow(w io.Writer, rows []mlflowRow, clients, batch int, seconds float64) {
	fmt.Fprintf(w, "MLflow log_batch: %d concurrent clients, %d metrics per call (10 keys × %d steps), %.0f s per target, same machine, same run\n\n", clients, batch, batch/10, seconds)
	for _, replayed := range []bool{false, true} {
		var base float64
		for _, r := range rows {
			if r.Replayed == replayed && strings.HasPrefix(r.Target, "MLflow") {
				base = r.rate()
			}
		}
		if replayed {
			fmt.Fprintf(w, "(b) the same requests from %d goroutines of a Go client: what each server can take\n", clients)
		} else {
			fmt.Fprintf(w, "(a) the unmodified Python client, %d processes: MlflowClient().log_batch\n", clients)
		}
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\tpoints/s\tcalls/s\tvs MLflow's server\tCPU/call in this process\tfailed calls\tstored\tthe rest indexed by the next read in\t")
		for _, r := range rows {
			if r.Replayed != replayed {
				continue
			}
			ratio, cpu := "-", "-"
			if base > 0 {
				ratio = fmt.Sprintf("%.1f×", r.rate()/base)
			}
			if r.ServerCPU > 0 {
				cpu = fmt.Sprintf("%.2f ms", float64(r.ServerCPU)/1e6)
			}
			lag := "-"
			if r.IndexLag > 0 {
				lag = r.IndexLag.Round(time.Millisecond).String()
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%s\t%s\t%d\t%s\t%s\t\n", r.Target, r.rate(), float64(r.Batches)/r.Seconds, ratio, cpu, r.Errors, r.Check, lag)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
}
