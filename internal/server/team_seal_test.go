package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/objstore/weedtest"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// sealReplica starts a team server's replica with the bucket files, its
// background work every 20 ms.
func sealReplica(t *testing.T, dsn string, files *objstore.S3) *httptest.Server {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Home: t.TempDir(), Team: db, Files: files, Logf: t.Logf, IndexInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts
}

// ingestAll posts data to a stream in batches of about n bytes, each
// ending at a record (a line, for training.log), and fails the test on an
// answer other than 200.
func ingestAll(t *testing.T, base, id, stream string, offset int, data []byte, cut func([]byte) int) int {
	t.Helper()
	for len(data) > 0 {
		n := cut(data)
		status, body := post(t, fmt.Sprintf("%s/api/v1/ingest/%s/%s?offset=%d", base, id, stream, offset), string(data[:n]), "X-Runlog-Client", "test")
		if status != http.StatusOK {
			t.Fatalf("ingest %s of %s at %d: %d %s", stream, id, offset, status, body)
		}
		offset, data = offset+n, data[n:]
	}
	return offset
}

// linesOf cuts text after the last line break in its first 8 KiB.
func linesOf(b []byte) int {
	if len(b) <= 8<<10 {
		return len(b)
	}
	return bytes.LastIndexByte(b[:8<<10], '\n') + 1
}

// trainingLog returns n lines of captured output, as runlog run writes
// them.
func trainingLog(run string, from, n int) []byte {
	var b bytes.Buffer
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "2026-12-06T05:%02d:%02d.000000Z\tstdout\t%s step %d loss %.4f\n", i/60%60, i%60, run, i, 1/float64(i+1))
	}
	return b.Bytes()
}

// sealedOf returns how many bytes of a stream are sealed, and how many
// its rows in PostgreSQL still hold.
func sealedOf(t *testing.T, db *postgres.DB, run, stream string) (sealed, held int64) {
	t.Helper()
	err := db.Pool().QueryRow(context.Background(), `SELECT l.sealed,
		(SELECT coalesce(sum(length(data)), 0) FROM log_segments g WHERE g.run_id = l.run_id AND g.stream = l.stream)
		FROM log_streams l WHERE run_id = $1 AND stream = $2`, run, stream).Scan(&sealed, &held)
	if err != nil {
		t.Fatal(err)
	}
	return sealed, held
}

// eventually polls cond until it holds, failing the test after two
// minutes: a SeaweedFS restarted on a loaded machine may answer 500 for
// a while before its volumes take writes again.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after two minutes", what)
		}
	}
}

// tailLines asks a replica for a run's last lines of output and returns the
// status and the lines' texts.
func tailLines(t *testing.T, base, id string, n int) (int, []string) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/runs/%s/logs?tail=%d", base, id, n))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Lines []struct{ Text string }
		Error string
	}
	json.Unmarshal(b, &out)
	var texts []string
	for _, l := range out.Lines {
		texts = append(texts, l.Text)
	}
	if resp.StatusCode != http.StatusOK {
		texts = []string{out.Error}
	}
	return resp.StatusCode, texts
}

// TestTeamSeal streams a run to one replica of a team server with a bucket
// (a real SeaweedFS): once it finished, the background work seals its logs
// into the bucket, so that PostgreSQL holds none of their bytes; another
// replica reads its output from the bucket and runlog pull rebuilds its
// folder byte for byte. With the bucket down, a live run's ingest is still
// acknowledged and its output read, the sealed run's output is 503, and
// sealing waits; once the bucket is back, it seals the live run's older
// bytes.
func TestTeamSeal(t *testing.T) {
	defer server.SetSealPolicy(postgres.SealOptions{MinBytes: 32 << 10, Settle: time.Nanosecond,
		TextStreams: []string{"training.log"}}, 50*time.Millisecond)()
	dsn := pgtest.DB(t)
	weed := weedtest.StartT(t)
	files := server.Bucket(t, weed.Endpoint, -1) // fails at once when the server is down
	loc := files.Location()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, bb := sealReplica(t, dsn, files), sealReplica(t, dsn, files)

	// A finished run, through replica A.
	const done = "sealdone"
	log := runfmttest.New(runfmt.Header{ID: done, Name: "sealed", Time: 1000})
	var cuts []int // where each batch of 500 points ends
	for step := range int64(8000) {
		log.Point(step, 1000+float64(step), "train_loss", 2.5/float64(step+1))
		if step%500 == 499 {
			cuts = append(cuts, len(log.Bytes()))
		}
	}
	log.Finish(9000)
	runLog := bytes.Clone(log.Bytes())
	output := trainingLog(done, 0, 3000)
	offset := 0
	ingestAll(t, a.URL, done, "run.log", 0, runLog, func(b []byte) int {
		for _, c := range cuts {
			if c > offset {
				offset = c
				return c - (len(runLog) - len(b))
			}
		}
		offset = len(runLog)
		return len(b)
	})
	ingestAll(t, a.URL, done, "training.log", 0, output, linesOf)
	for _, stream := range []string{"run.log", "training.log"} {
		eventually(t, stream+" of the finished run sealed whole", func() bool {
			sealed, held := sealedOf(t, db, done, stream)
			return held == 0 && sealed > 0
		})
	}

	// Another replica reads its output from the bucket; runlog pull
	// rebuilds its folder byte for byte.
	var wantTail []string // the texts of the last 50 lines, after time and stream
	for _, l := range strings.Split(strings.TrimSuffix(string(output), "\n"), "\n")[3000-50:] {
		wantTail = append(wantTail, strings.SplitN(l, "\t", 3)[2])
	}
	if status, lines := tailLines(t, bb.URL, done, 50); status != http.StatusOK || strings.Join(lines, "\n") != strings.Join(wantTail, "\n") {
		t.Errorf("the sealed run's output on replica B: %d, %d lines (want 50 the same)", status, len(lines))
	}
	dest := filepath.Join(t.TempDir(), "pulled")
	pull := exec.Command(os.Args[0], "pull", done, "--store", dsn, "--files", loc.String(), "--to", dest)
	pull.Env = append(os.Environ(), "RUNLOG_SERVER_TEST_MAIN=1")
	if out, err := pull.CombinedOutput(); err != nil {
		t.Fatalf("runlog pull: %v\n%s", err, out)
	}
	for name, want := range map[string][]byte{"run.log": runLog, "training.log": output} {
		if got, err := os.ReadFile(filepath.Join(dest, name)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("pulled %s: %d bytes, %v; want the %d streamed", name, len(got), err, len(want))
		}
	}
	nofiles := exec.Command(os.Args[0], "pull", done, "--store", dsn, "--to", filepath.Join(t.TempDir(), "nofiles"))
	nofiles.Env = append(os.Environ(), "RUNLOG_SERVER_TEST_MAIN=1", "RUNLOG_FILES=")
	if out, err := nofiles.CombinedOutput(); err == nil || !strings.Contains(string(out), "--files") {
		t.Errorf("runlog pull of sealed logs without --files: %v\n%s; want an error asking for it", err, out)
	}

	// The bucket goes down: a live run's batches are acknowledged, its
	// output read; the sealed run's is 503 on a replica that has not read
	// it before.
	if err := weed.Stop(); err != nil {
		t.Fatal(err)
	}
	const live = "seallive"
	header := runfmttest.New(runfmt.Header{ID: live, Name: "live", Time: 2000}).Bytes()
	ingestAll(t, a.URL, live, "run.log", 0, header, func(b []byte) int { return len(b) })
	liveOut := trainingLog(live, 0, 1500)
	n := ingestAll(t, a.URL, live, "training.log", 0, liveOut, linesOf)
	c := sealReplica(t, dsn, files)
	if status, lines := tailLines(t, c.URL, live, 5); status != http.StatusOK || len(lines) != 5 {
		t.Errorf("a live run's output with the bucket down: %d %q", status, lines)
	}
	if status, msg := tailLines(t, c.URL, done, 5); status != http.StatusServiceUnavailable || !strings.Contains(strings.Join(msg, ""), "file store") {
		t.Errorf("the sealed run's output with the bucket down: %d %q; want 503 naming the file store", status, msg)
	}
	if sealed, _ := sealedOf(t, db, live, "training.log"); sealed != 0 {
		t.Errorf("%d bytes sealed with the bucket down", sealed)
	}

	// Back: sealing goes on, and the live run's older stretch is sealed.
	if err := weed.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the live run's older bytes sealed", func() bool {
		sealed, _ := sealedOf(t, db, live, "training.log")
		return sealed >= 32<<10
	})
	more := trainingLog(live, 1500, 100)
	ingestAll(t, a.URL, live, "training.log", n, more, linesOf)
	got, err := io.ReadAll(db.OpenLog(context.Background(), live, "training.log", 0))
	if err == nil {
		t.Errorf("a store with no bucket set read sealed bytes")
	}
	db.SetLogObjects(files)
	got, err = io.ReadAll(db.OpenLog(context.Background(), live, "training.log", 0))
	if want := append(liveOut, more...); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the live run's output: %d bytes, %v; want the %d streamed", len(got), err, len(want))
	}
}
