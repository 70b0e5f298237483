package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/store"
)

// recordEnds returns the offsets at which the records of a run.log end.
func recordEnds(t *testing.T, data []byte) []int {
	t.Helper()
	r := runfmt.NewReader(bytes.NewReader(data), "run.log")
	var ends []int
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		ends = append(ends, int(r.Offset()))
	}
	return ends
}

func TestIngest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "runfmt", "testdata", "basic.runlog"))
	if err != nil {
		t.Fatal(err)
	}
	ends := recordEnds(t, data)
	a, b := ends[3], ends[10] // batch boundaries
	home := t.TempDir()
	s, ts := newTestServer(t, home, Options{})
	url := func(off int) string { return fmt.Sprintf("/api/v1/ingest/%s/run.log?offset=%d", fixtureBasic, off) }
	post := func(name string, off int, body []byte, status int, contains ...string) scenario {
		return scenario{name: name, method: "POST", url: url(off), body: body, status: status, contains: contains}
	}
	runScenarios(t, ts.URL, []scenario{
		post("ask the size of an unknown run", 0, nil, 200, `{"size":0}`),
		post("a gap", 10, data[10:a], 409, `"size":0`),
		post("not a run log", 0, []byte("NOTALOG!and more bytes"), 400),
		post("torn batch", 0, data[:a+3], 400, "record boundary"),
		post("another run's header", 0, runfmttest.New(runfmt.Header{Format: 1, ID: "other", Time: 1}).Bytes(), 400, "header"),
		post("first batch", 0, data[:a], 200, fmt.Sprintf(`{"size":%d}`, a)),
		post("the same batch again", 0, data[:a], 200, fmt.Sprintf(`{"size":%d}`, a)),
		post("overlapping batch", ends[1], data[ends[1]:b], 200, fmt.Sprintf(`{"size":%d}`, b)),
		post("overlap that differs", 0, append(append([]byte{}, data[:8]...), bytes.Repeat([]byte{1}, a-8)...), 400, "differ"),
		post("the rest", b, data[b:], 200, fmt.Sprintf(`{"size":%d}`, len(data))),
		post("ask the size", 0, nil, 200, fmt.Sprintf(`{"size":%d}`, len(data))),
	})
	got, err := os.ReadFile(layout.RunLog(home, fixtureBasic))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("the server's run.log differs from the client's: %d vs %d bytes", len(got), len(data))
	}
	if _, err := s.index(context.Background(), newWarnings(t.Logf)); err != nil {
		t.Fatal(err)
	}
	pts, err := s.db.Points(context.Background(), fixtureBasic, "train_loss", store.PointsOptions{})
	if err != nil || pts.Len() != 4 {
		t.Fatalf("indexed train_loss: %d points, %v", pts.Len(), err)
	}
}

func TestIngestRequests(t *testing.T) {
	home := t.TempDir()
	_, ts := newTestServer(t, home, Options{})
	runScenarios(t, ts.URL, []scenario{
		{name: "bad run id", method: "POST", url: "/api/v1/ingest/.hidden/run.log?offset=0", status: 400},
		{name: "bad stream", method: "POST", url: "/api/v1/ingest/abc/config.json?offset=0", status: 400},
		{name: "stream with a path", method: "POST", url: "/api/v1/ingest/abc/run.a%2F..%2Fb.log?offset=0", status: 400},
		{name: "no offset", method: "POST", url: "/api/v1/ingest/abc/run.log", status: 400},
		{name: "negative offset", method: "POST", url: "/api/v1/ingest/abc/run.log?offset=-1", status: 400},
		{name: "attached log", method: "POST", url: "/api/v1/ingest/abc/run.py-1-1.log?offset=0", contains: []string{`{"size":0}`}},
		{name: "training.log", method: "POST", url: "/api/v1/ingest/abc/training.log?offset=0", body: []byte("a\nb\n"), contains: []string{`{"size":4}`}},
		{name: "training.log, half a line", method: "POST", url: "/api/v1/ingest/abc/training.log?offset=4", body: []byte("c\nd"), status: 400},
		{name: "GET is not ingest", url: "/api/v1/ingest/abc/run.log?offset=0", status: 404},
	})
	if _, err := os.Stat(layout.RunLog(home, "abc")); err == nil {
		t.Error("asking the size created a run.log")
	}
}

func TestIngestCutsAnIncompleteBatch(t *testing.T) {
	// A server killed while appending leaves part of a batch that it
	// never acknowledged; the next server cuts it off before appending.
	data, err := os.ReadFile(filepath.Join("..", "runfmt", "testdata", "basic.runlog"))
	if err != nil {
		t.Fatal(err)
	}
	ends := recordEnds(t, data)
	home := t.TempDir()
	dir := layout.RunDir(home, fixtureBasic)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "run.log"), data[:ends[5]+7], 0o644)
	_, ts := newTestServer(t, home, Options{})
	runScenarios(t, ts.URL, []scenario{
		{name: "size", method: "POST", url: "/api/v1/ingest/" + fixtureBasic + "/run.log?offset=0", contains: []string{fmt.Sprintf(`{"size":%d}`, ends[5])}},
		{name: "rest", method: "POST", url: fmt.Sprintf("/api/v1/ingest/%s/run.log?offset=%d", fixtureBasic, ends[5]), body: data[ends[5]:],
			contains: []string{fmt.Sprintf(`{"size":%d}`, len(data))}},
	})
	got, _ := os.ReadFile(filepath.Join(dir, "run.log"))
	if !bytes.Equal(got, data) {
		t.Error("the run.log is not the client's")
	}
}
