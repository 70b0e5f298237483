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
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/annotate"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// TestTeamRunChanges sends the same run changes (rename, tags, notes,
// archive, trash, restore) to a home's server and to a team server's two
// replicas, the requests alternating between them: every answer's status
// is the home's, the run afterwards is the same on the home and on both
// replicas, a run in the trash leaves both replicas' lists and is not
// indexed again by the background work, and the team's run.cli.log,
// which runlog pull writes, holds the home's annotate records.
func TestTeamRunChanges(t *testing.T) {
	const id = "chgrun01"
	now := func() time.Time { return time.Unix(1_800_000_000, 0) }
	log := runfmttest.New(runfmt.Header{ID: id, Name: "base", Project: "p", Time: 1000})
	log.Config(`{"lr": 0.001}`).Point(0, 1001, "train_loss", 2.5).Point(1, 1002, "train_loss", 2.0).Finish(1003)

	home := t.TempDir()
	log.WriteRun(t, home, id)
	hsrv, err := server.New(server.Options{Home: home, Now: now, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	homeTS := httptest.NewServer(hsrv.Handler())
	t.Cleanup(func() { homeTS.Close(); hsrv.Close() })

	dsn := pgtest.DB(t)
	a, b := replica(t, dsn, now), replica(t, dsn, now)
	if status, body := post(t, fmt.Sprintf("%s/api/v1/ingest/%s/run.log?offset=0", a.URL, id), string(log.Bytes()), "X-Runlog-Client", "test"); status != 200 {
		t.Fatalf("ingest: %d %s", status, body)
	}
	replicas := []string{a.URL, b.URL}
	waitRun(t, homeTS.URL, id)
	for _, base := range replicas {
		waitRun(t, base, id)
	}

	steps := []struct {
		name, url, body string
		status          int
		listed          bool
	}{
		{"rename, tags, notes, hypothesis", "/api/v1/runs/" + id + "/annotate", `{"name": " renamed ", "tags": ["x", "y"], "notes": "spikes at 500", "hypothesis": "lr too high"}`, 200, true},
		{"add and remove tags", "/api/v1/runs/" + id + "/annotate", `{"add_tags": ["z"], "remove_tags": ["x"]}`, 200, true},
		{"a change that changes nothing", "/api/v1/runs/" + id + "/annotate", `{"tags": ["y", "z"]}`, 200, true},
		{"a bad tag", "/api/v1/runs/" + id + "/annotate", `{"add_tags": [" "]}`, 400, true},
		{"archive", "/api/v1/runs/" + id + "/annotate", `{"archived": true}`, 200, false},
		{"unarchive", "/api/v1/runs/" + id + "/annotate", `{"archived": false}`, 200, true},
		{"trash", "/api/v1/runs/" + id + "/trash", ``, 200, false},
		{"annotate a run in the trash", "/api/v1/runs/" + id + "/annotate", `{"notes": "x"}`, 404, false},
		{"trash it again", "/api/v1/runs/" + id + "/trash", ``, 404, false},
		{"restore by its name", "/api/v1/trash/renamed/restore", ``, 200, true},
		{"restore what is not in the trash", "/api/v1/trash/" + id + "/restore", ``, 404, true},
	}
	for i, s := range steps {
		team := replicas[i%2]
		hs, hb := post(t, homeTS.URL+s.url, s.body, "Content-Type", "application/json", "X-Runlog-Client", "test")
		ts, tb := post(t, team+s.url, s.body, "Content-Type", "application/json", "X-Runlog-Client", "test")
		if hs != s.status || ts != s.status {
			t.Fatalf("%s: the home answered %d %s, the team server %d %s; want %d", s.name, hs, hb, ts, tb, s.status)
		}
		want := runState(t, homeTS.URL, id)
		if listed := strings.Contains(get(t, homeTS.URL+"/api/v1/runs"), id); listed != s.listed {
			t.Fatalf("%s: the home lists the run: %v", s.name, listed)
		}
		for _, base := range replicas {
			// The other replica learns of the change by NOTIFY.
			waitFor(t, fmt.Sprintf("%s: replica %s to have the home's run %v (listed %v)", s.name, base, want, s.listed), func() bool {
				got := runState(t, base, id)
				return reflect.DeepEqual(got, want) && strings.Contains(get(t, base+"/api/v1/runs"), id) == s.listed
			})
		}
		if s.name == "trash" {
			db := openTeam(t, dsn)
			lagging, err := db.LaggingRuns(context.Background(), []string{layout.TrainingLog})
			if err != nil || len(lagging) != 0 {
				t.Fatalf("runs the background work would index again: %v %v; want none (the trashed run's logs are left alone)", lagging, err)
			}
		}
	}

	// The team's run.cli.log holds the home's annotate records, the same
	// payloads in the same order, after a header for the run.
	homeLog, err := os.ReadFile(filepath.Join(layout.RunDir(home, id), annotate.Log))
	if err != nil {
		t.Fatal(err)
	}
	db := openTeam(t, dsn)
	r := db.OpenLog(context.Background(), id, annotate.Log, 0)
	teamLog, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	hh, hrecs := records(t, homeLog)
	th, trecs := records(t, teamLog)
	if th.ID != id || !th.Attach || hh.ID != id {
		t.Errorf("headers: team %+v, home %+v", th, hh)
	}
	if len(trecs) != 4 || !reflect.DeepEqual(trecs, hrecs) {
		t.Errorf("the team's annotate records:\n%q\nthe home's:\n%q", trecs, hrecs)
	}
}

// TestTeamAnnotateRace annotates one run through two replicas at once:
// every request is answered 200 and no change is lost, the replica that
// found the stream grown encoding its record again after the other's.
func TestTeamAnnotateRace(t *testing.T) {
	const id = "chgrun02"
	dsn := pgtest.DB(t)
	a, b := replica(t, dsn, nil), replica(t, dsn, nil)
	log := runfmttest.New(runfmt.Header{ID: id, Name: "race", Time: 1000}).Point(0, 1001, "loss", 1.0)
	if status, body := post(t, fmt.Sprintf("%s/api/v1/ingest/%s/run.log?offset=0", a.URL, id), string(log.Bytes()), "X-Runlog-Client", "test"); status != 200 {
		t.Fatalf("ingest: %d %s", status, body)
	}
	const each = 6
	var wg sync.WaitGroup
	errs := make(chan string, 2*each)
	for i, base := range []string{a.URL, b.URL} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				status, body := post(t, base+"/api/v1/runs/"+id+"/annotate", fmt.Sprintf(`{"add_tags": ["t%d-%d"]}`, i, j), "Content-Type", "application/json", "X-Runlog-Client", "test")
				if status != 200 {
					errs <- fmt.Sprintf("%d %s", status, body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	got := runState(t, b.URL, id)["tags"].([]any)
	if len(got) != 2*each {
		db := openTeam(t, dsn)
		r := db.OpenLog(context.Background(), id, annotate.Log, 0)
		data, _ := io.ReadAll(r)
		r.Close()
		_, recs := records(t, data)
		t.Errorf("tags after %d changes through two replicas: %v; the log: %q", 2*each, got, recs)
	}
}

// TestTeamTrashRunning moves a running run to a team server's trash (with
// force, as a home asks) while its client goes on streaming: the batches
// are acknowledged and kept, the run stays out of both replicas' lists,
// and a restore brings it back with every point.
func TestTeamTrashRunning(t *testing.T) {
	const id = "chgrun03"
	dsn := pgtest.DB(t)
	a, b := replica(t, dsn, nil), replica(t, dsn, nil)
	start := float64(time.Now().Unix())
	log := runfmttest.New(runfmt.Header{ID: id, Name: "live", Time: start}).Point(0, start, "loss", 1.0)
	ingest := func(base string, from int) {
		t.Helper()
		status, body := post(t, fmt.Sprintf("%s/api/v1/ingest/%s/run.log?offset=%d", base, id, from), string(log.Bytes()[from:]), "X-Runlog-Client", "test")
		if status != 200 {
			t.Fatalf("ingest from %d: %d %s", from, status, body)
		}
	}
	ingest(a.URL, 0)
	trash := "/api/v1/runs/" + id + "/trash"
	if status, body := post(t, b.URL+trash, "", "X-Runlog-Client", "test"); status != http.StatusConflict {
		t.Fatalf("trash a running run without force: %d %s; want 409", status, body)
	}
	if status, body := post(t, b.URL+trash, `{"force": true}`, "Content-Type", "application/json", "X-Runlog-Client", "test"); status != 200 {
		t.Fatalf("trash with force: %d %s", status, body)
	}
	held := len(log.Bytes())
	log.Point(1, start+1, "loss", 0.5).Point(2, start+2, "loss", 0.25)
	ingest(a.URL, held)
	for _, base := range []string{a.URL, b.URL} {
		if got := runState(t, base, id); got != nil || strings.Contains(get(t, base+"/api/v1/runs"), id) {
			t.Errorf("%s serves the run in the trash: %v", base, got)
		}
	}
	if status, body := post(t, a.URL+"/api/v1/trash/"+id+"/restore", "", "X-Runlog-Client", "test"); status != 200 || !strings.Contains(body, `"total_steps":3`) {
		t.Fatalf("restore: %d %s; want the run with its 3 steps", status, body)
	}
	waitRun(t, b.URL, id)
}

// openTeam opens the team store at dsn; a server given it closes it.
func openTeam(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// waitRun waits until the server at base serves run id.
func waitRun(t *testing.T, base, id string) {
	t.Helper()
	waitFor(t, base+" to serve run "+id, func() bool { return runState(t, base, id) != nil })
}

// runState is what a user sees of run id on the server at base: its
// detail's fields but those that say where it is kept, or nil when the
// server does not know the run.
func runState(t *testing.T, base, id string) map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/runs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var d map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != 200 {
		t.Fatalf("run %s on %s: %d %v", id, base, resp.StatusCode, err)
	}
	for _, k := range []string{"path", "folder", "generation"} {
		delete(d, k)
	}
	return d
}

// records returns a run.cli.log's header and the payloads of its records
// after it.
func records(t *testing.T, data []byte) (runfmt.Header, []string) {
	t.Helper()
	rd := runfmt.NewReader(bytes.NewReader(data), annotate.Log)
	var h runfmt.Header
	var out []string
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Type == runfmt.TypeHeader {
			if err := rec.DecodeJSON(&h); err != nil {
				t.Fatal(err)
			}
			continue
		}
		out = append(out, fmt.Sprintf("%d %d %s", rec.Type, rec.Seq, rec.Payload))
	}
	return h, out
}
