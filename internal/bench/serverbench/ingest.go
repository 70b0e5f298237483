package serverbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench/timing"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// benchIngest measures remote ingest: the Go client streaming to the
// server, alone and several at once.
func benchIngest(ctx context.Context, c Config, dir string, add func(row)) error {
	for _, clients := range []int{1, c.Clients} {
		var ack, indexed, local []time.Duration
		for rep := range max(1, min(c.Repeat, 3)) {
			a, ix, l, err := ingestOnce(ctx, c, filepath.Join(dir, fmt.Sprintf("%d-%d", clients, rep)), clients)
			if err != nil {
				return err
			}
			ack, indexed, local = append(ack, a), append(indexed, ix), append(local, l)
		}
		a, ix, l := timing.Median(ack), timing.Median(indexed), timing.Median(local)
		what := fmt.Sprintf("**remote ingest, Go client streaming %s points (%d series) to the server**", timing.Count(c.IngestPoints), c.Series)
		goal := "≥ 1 M points/s"
		if clients > 1 {
			what = fmt.Sprintf("remote ingest, %d clients at once, %s points in all", clients, timing.Count(c.IngestPoints))
			goal = ""
		}
		note := fmt.Sprintf("all acknowledged (synced on the server) %s after Init; logging alone took %s; median of %d", secs(a), secs(l), len(ack))
		add(row{what, rate(c.IngestPoints, a), goal, note})
		add(row{"… until the server's store has every point", rate(c.IngestPoints, ix), "", fmt.Sprintf("%s after Init (indexed every second)", secs(ix))})
	}
	return nil
}

// ingestOnce streams c.IngestPoints points from clients clients to a new
// server and returns the time until the server acknowledged all, until
// its store held all, and until the clients had logged all locally.
func ingestOnce(ctx context.Context, c Config, dir string, clients int) (ack, indexed, local time.Duration, err error) {
	serverHome := filepath.Join(dir, "server")
	base, stop, err := c.serve(serverHome)
	if err != nil {
		return 0, 0, 0, err
	}
	defer stop()
	keys := make([]string, c.Series)
	for i := range keys {
		keys[i] = fmt.Sprintf("metric_%02d", i)
	}
	steps := c.IngestPoints / c.Series / clients
	start := time.Now()
	var mu sync.Mutex
	var firstErr error
	var ids []string
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := func() error {
				r, err := runlog.Init(runlog.Options{Home: filepath.Join(dir, fmt.Sprintf("client-%d", i)), Name: "ingest-bench",
					DisableGit: true, URL: base, StreamTimeout: 10 * time.Minute})
				if err != nil {
					return err
				}
				vals := make(map[string]float64, len(keys))
				for step := range steps {
					for k, key := range keys {
						vals[key] = float64(step)*1e-6 + float64(k)
					}
					if err := r.LogStep(int64(step), vals); err != nil {
						return err
					}
				}
				mu.Lock()
				local = max(local, time.Since(start))
				ids = append(ids, r.ID())
				mu.Unlock()
				return r.Finish(0)
			}()
			if err != nil {
				mu.Lock()
				firstErr = errors.Join(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, 0, firstErr
	}
	ack = time.Since(start)
	for _, id := range ids {
		a, err := os.Stat(layout.RunLog(filepath.Join(dir, "client-0"), id))
		if err == nil {
			b, err := os.Stat(layout.RunLog(serverHome, id))
			if err != nil || b.Size() != a.Size() {
				return 0, 0, 0, fmt.Errorf("run %s: the server has %v bytes, the client %d", id, b, a.Size())
			}
		}
	}
	db, err := sqlite.Open(layout.Store(serverHome))
	if err != nil {
		return 0, 0, 0, err
	}
	defer db.Close()
	want := int64(steps * c.Series * clients)
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var n int64
		for _, id := range ids {
			ser, err := db.Series(ctx, id)
			if err != nil {
				return 0, 0, 0, err
			}
			for _, s := range ser {
				n += s.Stats.Count
			}
		}
		if n == want {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, fmt.Errorf("the server indexed %d of %d points", n, want)
		}
	}
	indexed = time.Since(start)
	os.RemoveAll(dir)
	return ack, indexed, local, nil
}
