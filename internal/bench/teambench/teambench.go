// Package teambench measures the team server's ingest (issue 17): Go
// clients streaming runs through nginx to two `runlog server` replicas
// into PostgreSQL, points acknowledged per second, beside `mlflow server`
// on the same PostgreSQL receiving the same clients' log-batch requests of
// 1,000 metrics.
package teambench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench/compatbench"
	"github.com/runlog/runlog/internal/bench/timing"
	"github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/server/nginxtest"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// Config sizes the benchmark.
type Config struct {
	// DSN is a PostgreSQL server whose user may create databases; ""
	// starts a throwaway cluster with initdb.
	DSN     string
	Clients int // Go clients streaming at once
	Keys    int // keys each client logs at every step
	Steps   int // steps each client logs
	Repeat  int // repetitions of the runlog side; medians are reported
	// MLflow is the mlflow program of an installation with its server
	// (pip install mlflow psycopg2-binary); "" looks for mlflow on PATH,
	// "-" leaves the reference out.
	MLflow string
	// MLflowFor is how long the clients send log-batch requests to
	// mlflow server.
	MLflowFor time.Duration

	// Live runs the live load instead (live.go): LiveRuns runs, each
	// sending a batch of one point of each of its LiveKeys keys LiveHz
	// times a second for LiveSeconds, every acknowledgment's latency
	// recorded, and PostgreSQL's size measured afterwards.
	Live        bool
	LiveRuns    int
	LiveKeys    int
	LiveSeconds int
	LiveHz      float64

	Out, Log io.Writer
}

// Default runs in about a minute on a 2-core machine; its live load is
// issue 17's: 1,000 runs × 100 keys at 1 Hz for 5 minutes.
var Default = Config{Clients: 20, Keys: 100, Steps: 2500, Repeat: 3, MLflowFor: 15 * time.Second,
	LiveRuns: 1000, LiveKeys: 100, LiveSeconds: 300, LiveHz: 1}

// Run runs the benchmark and prints its table.
func Run(ctx context.Context, c Config) error {
	nginx := nginxtest.Bin()
	if nginx == "" {
		return errors.New("nginx is not installed: apt-get install nginx")
	}
	admin := c.DSN
	if admin == "" {
		c.progress("starting a throwaway PostgreSQL with initdb…")
		cl, err := pgtest.Start("shared_buffers=256MB", "max_connections=300")
		if err != nil {
			return err
		}
		defer cl.Remove()
		admin = cl.DSN("postgres")
	}
	if c.Live {
		return c.runLive(ctx, admin, nginx)
	}
	points := c.Clients * c.Keys * c.Steps
	var acks []time.Duration
	for rep := range max(c.Repeat, 1) {
		d, err := c.runlogOnce(ctx, admin, nginx, fmt.Sprintf("runlog_team_%d_%d", os.Getpid(), rep))
		if err != nil {
			return err
		}
		c.progress("runlog: %s points acknowledged in %s", timing.Count(points), timing.Short(d))
		acks = append(acks, d)
	}
	ack := timing.Median(acks)
	ours := float64(points) / ack.Seconds()
	ref, refNote := 0.0, ""
	if bin := c.mlflowBin(); bin == "" {
		refNote = "not measured: no mlflow server here (pip install mlflow psycopg2-binary; --mlflow PATH)"
	} else {
		n, d, err := c.mlflowOnce(ctx, admin, bin, fmt.Sprintf("mlflow_team_%d", os.Getpid()))
		if err != nil {
			refNote = "failed: " + err.Error()
		} else {
			ref = float64(n) / d.Seconds()
			refNote = fmt.Sprintf("%s points in %s", timing.Count(n), timing.Short(d))
		}
	}
	fmt.Fprintln(c.Out, "| what | runlog server ×2 behind nginx | mlflow server (same PostgreSQL, same clients) | ratio | goal |")
	fmt.Fprintln(c.Out, "|---|---|---|---|---|")
	ratio := "—"
	theirs := refNote
	if ref > 0 {
		ratio = fmt.Sprintf("%.0f×", ours/ref)
		theirs = fmt.Sprintf("%s points/s (%s)", timing.Count(int(ref)), refNote)
	}
	fmt.Fprintf(c.Out, "| %d Go clients streaming %s points (%d keys × %d steps each) into PostgreSQL, all acknowledged | %s points/s (median of %d: %s) | %s | %s | ≥ 1 M points/s; ≥ 100× |\n",
		c.Clients, timing.Count(points), c.Keys, c.Steps, timing.Count(int(ours)), len(acks), timing.Short(ack), theirs, ratio)
	return nil
}

func (c Config) progress(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// team is two runlog server replicas on one database behind nginx.
type team struct {
	DSN  string // the database
	URL  string // nginx, balancing round robin between the replicas
	stop func()
}

// startTeam creates database name on the server admin names, starts two
// replicas on it (server.Server with Options.Team, each a PostgreSQL pool
// of its own) and nginx before them. Close stops them all and drops the
// database.
func startTeam(ctx context.Context, admin, nginx, name string) (_ *team, err error) {
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	dsn, err := pgtest.CreateDatabase(ctx, admin, name)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { pgtest.DropDatabase(context.WithoutCancel(ctx), admin, name) })
	dir, err := os.MkdirTemp("", "runlog-teambench-")
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { os.RemoveAll(dir) })
	sctx, stop := context.WithCancel(ctx)
	var served sync.WaitGroup
	undo = append(undo, func() { stop(); served.Wait() })
	var urls []string
	for i := range 2 {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			db.Close()
			return nil, err
		}
		srv, err := server.New(server.Options{Home: filepath.Join(dir, fmt.Sprintf("replica-%d", i)), Addr: ln.Addr().String(), Team: db,
			Logf: func(string, ...any) {}})
		if err != nil {
			ln.Close()
			db.Close()
			return nil, err
		}
		served.Add(1)
		go func() {
			defer served.Done()
			srv.Serve(sctx, ln)
			srv.Close()
		}()
		urls = append(urls, "http://"+ln.Addr().String())
	}
	px, err := nginxtest.Start(nginx, urls...)
	if err != nil {
		return nil, err
	}
	undo = append(undo, px.Stop)
	return &team{DSN: dsn, URL: px.URL, stop: func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}}, nil
}

// Close stops nginx and the replicas and drops the database.
func (t *team) Close() { t.stop() }

// runlogOnce starts two replicas on a new database and nginx before them,
// streams the clients' runs through it and returns the time from the
// clients' start until the last acknowledged its whole log.
func (c Config) runlogOnce(ctx context.Context, admin, nginx, name string) (time.Duration, error) {
	tm, err := startTeam(ctx, admin, nginx, name)
	if err != nil {
		return 0, err
	}
	defer tm.Close()
	dir, err := os.MkdirTemp("", "runlog-teambench-clients-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	dsn := tm.DSN
	keys := make([]string, c.Keys)
	for i := range keys {
		keys[i] = fmt.Sprintf("metric_%03d", i)
	}
	start := time.Now()
	ids := make([]string, c.Clients)
	errs := make([]error, c.Clients)
	var wg sync.WaitGroup
	for i := range c.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = func() error {
				r, err := runlog.Init(runlog.Options{Home: filepath.Join(dir, fmt.Sprintf("client-%d", i)), Name: "team-bench",
					DisableGit: true, URL: tm.URL, StreamTimeout: 10 * time.Minute})
				if err != nil {
					return err
				}
				ids[i] = r.ID()
				vals := make(map[string]float64, len(keys))
				for step := range c.Steps {
					for k, key := range keys {
						vals[key] = float64(step)*1e-6 + float64(k)
					}
					if err := r.LogStep(int64(step), vals); err != nil {
						return err
					}
				}
				return r.Finish(0)
			}()
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	// Every point is in the store: the acknowledgments are not taken on
	// trust.
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	for _, id := range ids {
		for _, key := range []string{keys[0], keys[len(keys)-1]} {
			pts, err := db.Points(ctx, id, key, store.PointsOptions{})
			if err != nil {
				return 0, fmt.Errorf("run %s: %w", id, err)
			}
			if pts.Len() != c.Steps {
				return 0, fmt.Errorf("run %s %s: %d points in PostgreSQL after all were acknowledged, %d logged", id, key, pts.Len(), c.Steps)
			}
		}
	}
	return took, nil
}

func (c Config) mlflowBin() string {
	switch c.MLflow {
	case "-":
		return ""
	case "":
		p, _ := exec.LookPath("mlflow")
		return p
	}
	return c.MLflow
}

// mlflowOnce starts mlflow server on a new database of the same
// PostgreSQL, has the clients send log-batch requests of 1,000 metrics
// (MLflow's most) to runs of their own for c.MLflowFor, and returns the
// points acknowledged and the time taken.
func (c Config) mlflowOnce(ctx context.Context, admin, bin, name string) (int, time.Duration, error) {
	dsn, err := pgtest.CreateDatabase(ctx, admin, name)
	if err != nil {
		return 0, 0, err
	}
	defer pgtest.DropDatabase(context.WithoutCancel(ctx), admin, name)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir, err := os.MkdirTemp("", "runlog-teambench-mlflow-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	// SQLAlchemy names the driver: postgresql+psycopg2://…
	uri := "postgresql+psycopg2" + dsn[len("postgres"):]
	cmd := exec.Command(bin, "server", "--backend-store-uri", uri, "--default-artifact-root", dir,
		"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--workers", "4")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // gunicorn's workers stop with it
	c.progress("starting mlflow server on PostgreSQL…")
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := compatbench.WaitHealthy(base, 3*time.Minute); err != nil {
		return 0, 0, fmt.Errorf("%w: %s", err, lastLines(log.String()))
	}
	// compatbench's load: each client a run of its own, log-batch of
	// 1,000 metrics (10 keys × 100 steps) as fast as it is answered.
	points, took, err := compatbench.Replay(base, c.Clients, c.MLflowFor.Seconds(), 1000)
	if err != nil {
		return 0, 0, err
	}
	return int(points), time.Duration(took * float64(time.Second)), nil
}

// lastLines returns the end of a long text, for errors.
func lastLines(s string) string {
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}
