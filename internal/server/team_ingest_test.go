package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// replica starts a team server's replica in this process on the database
// dsn, telling the time by now (nil: time.Now).
func replica(t *testing.T, dsn string, now func() time.Time) *httptest.Server {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Home: t.TempDir(), Team: db, Logf: t.Logf, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts
}

// TestTeamIngestProtocol sends batches of one run to two replicas of a
// team server: the ingest protocol's answers are a home's (the same bytes
// again are trimmed, a gap is 409 with the size, other bytes are 400),
// whichever replica holds what; the run is readable on the other replica
// at once, and its captured output comes from the logs in PostgreSQL.
func TestTeamIngestProtocol(t *testing.T) {
	dsn := pgtest.DB(t)
	a, b := replica(t, dsn, nil), replica(t, dsn, nil)
	const id = "teamrun1"
	log := runfmttest.New(runfmt.Header{ID: id, Name: "team", Time: 1000})
	first := append([]byte(nil), log.Bytes()...)
	log.Point(0, 1001, "train_loss", 2.5).Point(1, 1002, "train_loss", 2.0)
	all := log.Bytes()
	second := all[len(first):]
	text := "2026-12-06T05:00:00.000000Z\tstdout\tepoch 1 done\n"

	steps := []struct {
		name   string
		base   string
		stream string
		offset int
		body   []byte
		status int
		size   int
	}{
		{"the header, to replica A", a.URL, "run.log", 0, first, 200, len(first)},
		{"the same bytes again, to replica B: trimmed", b.URL, "run.log", 0, first, 200, len(first)},
		{"a gap, to replica B: 409 with the size", b.URL, "run.log", len(first) + 10, second, 409, len(first)},
		{"other bytes at a held offset: 400", b.URL, "run.log", 0, []byte(strings.Repeat("x", len(first))), 400, -1},
		{"the points, to replica B", b.URL, "run.log", len(first), second, 200, len(all)},
		{"captured output, to replica A", a.URL, "training.log", 0, []byte(text), 200, len(text)},
	}
	for _, s := range steps {
		status, body := post(t, fmt.Sprintf("%s/api/v1/ingest/%s/%s?offset=%d", s.base, id, s.stream, s.offset), string(s.body), "X-Runlog-Client", "test")
		var ans struct{ Size int }
		json.Unmarshal([]byte(body), &ans)
		if status != s.status || (s.size >= 0 && ans.Size != s.size) {
			t.Errorf("%s: %d %s; want %d with size %d", s.name, status, body, s.status, s.size)
		}
	}
	for _, base := range []string{a.URL, b.URL} {
		series := get(t, base+"/api/v1/runs/"+id+"/series?keys=train_loss")
		if !strings.Contains(series, "train_loss") || !strings.Contains(series, "2.5") {
			t.Errorf("%s: the run's series: %s", base, series)
		}
		if logs := get(t, base+"/api/v1/runs/"+id+"/logs"); !strings.Contains(logs, "epoch 1 done") || !strings.Contains(logs, `"captured":true`) {
			t.Errorf("%s: the run's logs: %s", base, logs)
		}
	}
}

// get returns the body of a GET that must succeed.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}
