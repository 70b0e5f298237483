package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store"
)

// fullStore is a store whose disk is full: every write fails as SQLite's
// does then.
type fullStore struct{ store.Store }

func (fullStore) Write(context.Context, *store.Batch) error {
	return fmt.Errorf("%w: the disk or the store's size limit is reached (database or disk is full); free some space and run the command again", store.ErrFull)
}

// TestIngestFullDisk: an append that fails on a full disk is a 503 that
// says so (not a 500 "internal error"), what was written of the batch is
// cut off again, and once space is freed the client's resend goes in.
func TestIngestFullDisk(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "runfmt", "testdata", "basic.runlog"))
	if err != nil {
		t.Fatal(err)
	}
	ends := recordEnds(t, data)
	a := ends[3]
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"no space left", fullDiskErrno, fullDiskErrno.Error()},
		{"quota exceeded", quotaErrno, quotaErrno.Error()},
		{"store full", fmt.Errorf("index: %w", store.ErrFull), "the store cannot grow"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			s, ts := newTestServer(t, home, Options{IndexInterval: time.Hour})
			var full atomic.Bool
			s.appendFile = func(dir, name string, b []byte) error {
				if !full.Load() {
					return appendSync(dir, name, b)
				}
				// Half the batch reaches the disk before it is full.
				if err := appendSync(dir, name, b[:len(b)/2]); err != nil {
					return err
				}
				return &fs.PathError{Op: "write", Path: filepath.Join(dir, name), Err: tt.err}
			}
			url := func(off int) string { return fmt.Sprintf("/api/v1/ingest/%s/run.log?offset=%d", fixtureBasic, off) }
			runScenarios(t, ts.URL, []scenario{
				{name: "first batch", method: "POST", url: url(0), body: data[:a], contains: []string{fmt.Sprintf(`{"size":%d}`, a)}},
			})
			full.Store(true)
			runScenarios(t, ts.URL, []scenario{
				{name: "the disk is full", method: "POST", url: url(a), body: data[a:], status: 503,
					contains: []string{"the server's disk is full", tt.want, "free space"}, absent: []string{home, "internal error"}},
			})
			full.Store(false)
			runScenarios(t, ts.URL, []scenario{
				{name: "the server's file ends at a record boundary", method: "POST", url: url(0), check: func(t *testing.T, body []byte) {
					var got struct{ Size int }
					json.Unmarshal(body, &got)
					if got.Size < a || !slices.Contains(ends, got.Size) {
						t.Errorf("size %d after the failed append: not a record end at or after %d", got.Size, a)
					}
				}},
				{name: "space freed: the resend goes in", method: "POST", url: url(a), body: data[a:], contains: []string{fmt.Sprintf(`{"size":%d}`, len(data))}},
			})
			if got, _ := os.ReadFile(layout.RunLog(home, fixtureBasic)); string(got) != string(data) {
				t.Errorf("the server's run.log: %d bytes, want the client's %d", len(got), len(data))
			}
		})
	}
}

// health is the answer of /api/v1/health.
type health struct {
	OK         bool   `json:"ok"`
	Runs       int    `json:"runs"`
	RunsOnDisk int    `json:"runs_on_disk"`
	IndexError string `json:"index_error"`
}

func getHealth(t *testing.T, base string) health {
	t.Helper()
	var h health
	if err := json.Unmarshal(do(t, base, scenario{url: "/api/v1/health"}), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestIndexFullStore: while the store is full, a run that was never
// indexed is not invisible without a word: its 404 says that the server
// could not index it and why, and /api/v1/health reports the error and
// how many runs are on disk. Once space is freed the run appears.
func TestIndexFullStore(t *testing.T) {
	home, ids := seedHome(t)
	s, ts := newTestServer(t, home, Options{IndexInterval: time.Hour})
	ctx := context.Background()
	w := newWarnings(t.Logf)
	if h := getHealth(t, ts.URL); h.Runs != 4 || h.RunsOnDisk != 4 || h.IndexError != "" {
		t.Fatalf("health before: %+v", h)
	}

	s.indexStore = fullStore{s.db}
	late, err := runlog.Init(runlog.Options{Home: home, Name: "late", DisableGit: true, URL: "-"})
	if err != nil {
		t.Fatal(err)
	}
	late.LogStep(0, map[string]float64{"loss": 1})
	if err := late.Finish(0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.index(ctx, w); !diskFull(err) {
		t.Fatalf("index into a full store: %v", err)
	}
	h := getHealth(t, ts.URL)
	if !h.OK || h.Runs != 4 || h.RunsOnDisk != 5 || !strings.Contains(h.IndexError, "store is full") {
		t.Errorf("health while full: %+v", h)
	}
	runScenarios(t, ts.URL, []scenario{
		{name: "the unindexed run says why", url: "/api/v1/runs/" + late.ID(), status: 404,
			contains: []string{"run " + late.ID() + " is on disk, but the server could not index it", "store is full"}},
		{name: "its series too", url: "/api/v1/runs/" + late.ID() + "/series?keys=loss", status: 404, contains: []string{"could not index it"}},
		{name: "an indexed run is served", url: "/api/v1/runs/" + ids["sweep-a"]},
		{name: "a run that is nowhere is a plain 404", url: "/api/v1/runs/nosuchrun", status: 404, absent: []string{"could not index"}},
	})

	s.indexStore = s.db // space freed
	if _, err := s.index(ctx, w); err != nil {
		t.Fatal(err)
	}
	if h := getHealth(t, ts.URL); h.Runs != 5 || h.RunsOnDisk != 5 || h.IndexError != "" {
		t.Errorf("health after space was freed: %+v", h)
	}
	runScenarios(t, ts.URL, []scenario{
		{name: "the run appears", url: "/api/v1/runs/" + late.ID(), contains: []string{`"late"`}},
	})
}

// TestDiskFull: which errors are a full disk, answered 503.
func TestDiskFull(t *testing.T) {
	for _, tt := range []struct {
		err  error
		full bool
	}{
		{fmt.Errorf("index: %w", store.ErrFull), true},
		{fmt.Errorf("append: %w", &fs.PathError{Op: "write", Path: "/x", Err: fullDiskErrno}), true},
		{&fs.PathError{Op: "write", Path: "/x", Err: quotaErrno}, true},
		{fmt.Errorf("x: %w", store.ErrNotFound), false},
		{&fs.PathError{Op: "write", Path: "/x", Err: fs.ErrPermission}, false},
		{store.ErrReadOnly, false},
	} {
		if got := diskFull(tt.err); got != tt.full {
			t.Errorf("diskFull(%v) = %v", tt.err, got)
		}
	}
	if got := fullReason(fmt.Errorf("append to /home/x/run.log: %w", &fs.PathError{Op: "write", Path: "/home/x/run.log", Err: fullDiskErrno})); got != fullDiskErrno.Error() {
		t.Errorf("fullReason: %q, want the errno alone", got)
	}
}
