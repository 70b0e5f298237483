package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/mlflow"
	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/objstore/weedtest"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// mlflowReplica starts a replica of a team server on the database dsn
// with the bucket files (nil: none), serving the MLflow API as `runlog
// server` does, and returns its URL and team store.
func mlflowReplica(t *testing.T, dsn string, files *objstore.S3) (string, *postgres.DB) {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, t.TempDir(), Options{Team: db, Files: files,
		TeamMounts: func(st store.Store, team *MLflowTeam) map[string]http.Handler {
			h := mlflow.NewHandler(st, "", mlflow.Options{Backend: team, Warn: func(err error) { t.Log(err) }})
			return map[string]http.Handler{mlflow.TrackingPrefix: h, mlflow.ArtifactsPrefix: h}
		}})
	return ts.URL, db
}

// mlflowDo sends an MLflow API call (a JSON body for POST, the query in
// path for GET) and decodes the answer into out; it returns the status.
func mlflowDo(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	code, data := send(t, req)
	if out != nil && json.Unmarshal(data, out) != nil {
		t.Errorf("%s %s: %d %s", method, url, code, data)
	}
	if code != http.StatusOK && out == nil {
		t.Logf("%s %s: %d %s", method, url, code, data)
	}
	return code
}

// send sends req and returns the answer's status and body.
func send(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, data
}

// mlflowOK is mlflowDo that fails the test unless the answer is 200.
func mlflowOK(t *testing.T, method, url string, body any, out any) {
	t.Helper()
	var raw json.RawMessage
	if code := mlflowDo(t, method, url, body, &raw); code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, url, code, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, url, raw, err)
		}
	}
}

const api = "/api/2.0/mlflow/"

// mlflowRun is what the tests read of an MLflow answer that holds a run,
// as runs/create's does.
type mlflowRun struct {
	Run struct {
		Info struct {
			RunID string `json:"run_id"`
		} `json:"info"`
	} `json:"run"`
}

// mlflowExperiment is what the tests read of an MLflow answer that holds
// an experiment, as experiments/get-by-name's does.
type mlflowExperiment struct {
	Experiment struct {
		ID string `json:"experiment_id"`
	} `json:"experiment"`
}

// TestTeamMLflow writes through the MLflow API of two replicas of one team
// server, each request to either: what one replica acknowledged the other
// reads at once; experiments created at once on both get distinct ids and
// none is lost; metrics logged at once to one run through both are all
// kept, and a retried request through the other replica adds nothing;
// artifacts go to the bucket and come back byte for byte; a run that
// runlog's own client streamed gets an attached log in PostgreSQL.
func TestTeamMLflow(t *testing.T) {
	files := bucket(t, weedtest.Endpoint(t), 10*time.Second)
	dsn := pgtest.DB(t)
	a, db := mlflowReplica(t, dsn, files)
	b, _ := mlflowReplica(t, dsn, files)
	replicas := []string{a, b}
	ctx := context.Background()

	// Experiments created at once through both replicas.
	const n = 12
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct {
				ID string `json:"experiment_id"`
			}
			mlflowOK(t, "POST", replicas[i%2]+api+"experiments/create", map[string]any{"name": fmt.Sprintf("exp-%d", i)}, &out)
			ids[i] = out.ID
		}()
	}
	wg.Wait()
	if distinct := slices.Compact(slices.Sorted(slices.Values(ids))); len(distinct) != n || distinct[0] == "" {
		t.Fatalf("experiment ids %v: want %d distinct", ids, n)
	}
	for _, base := range replicas {
		var out struct {
			Experiments []struct{ Name string } `json:"experiments"`
		}
		mlflowOK(t, "POST", base+api+"experiments/search", map[string]any{"max_results": 100}, &out)
		if len(out.Experiments) != n+1 { // and Default
			t.Errorf("%s lists %d experiments, want %d: %+v", base, len(out.Experiments), n+1, out.Experiments)
		}
	}
	var exp mlflowExperiment
	mlflowOK(t, "GET", b+api+"experiments/get-by-name?experiment_name=exp-3", nil, &exp)
	if exp.Experiment.ID == "" || !slices.Contains(ids, exp.Experiment.ID) {
		t.Errorf("exp-3 through the other replica: %+v", exp)
	}

	// A run created on one replica, written through both.
	var created mlflowRun
	mlflowOK(t, "POST", a+api+"runs/create", map[string]any{"experiment_id": exp.Experiment.ID, "run_name": "team-run", "start_time": 1764201600000}, &created)
	id := created.Run.Info.RunID
	mlflowOK(t, "POST", b+api+"runs/log-batch", map[string]any{"run_id": id,
		"metrics": []map[string]any{{"key": "loss", "value": 1.5, "timestamp": 1764201601000, "step": 0}},
		"params":  []map[string]any{{"key": "lr", "value": "0.1"}},
		"tags":    []map[string]any{{"key": "team", "value": "vision"}}}, nil)
	const steps = 20
	for i := 1; i <= steps; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mlflowOK(t, "POST", replicas[i%2]+api+"runs/log-metric", map[string]any{"run_id": id, "key": "loss", "value": 1.5 / float64(i+1), "timestamp": 1764201601000 + i, "step": i}, nil)
		}()
	}
	wg.Wait()
	// A retried request, through the other replica (step 2 went to a; b
	// defined the key): nothing twice.
	mlflowOK(t, "POST", b+api+"runs/log-metric", map[string]any{"run_id": id, "key": "loss", "value": 1.5 / 3, "timestamp": 1764201601002, "step": 2}, nil)
	for _, base := range replicas {
		var hist struct {
			Metrics []struct{ Step int64 } `json:"metrics"`
		}
		mlflowOK(t, "GET", base+api+"metrics/get-history?run_id="+id+"&metric_key=loss", nil, &hist)
		if len(hist.Metrics) != steps+1 {
			t.Errorf("%s: %d points of loss, want %d: %+v", base, len(hist.Metrics), steps+1, hist.Metrics)
		}
		var run struct {
			Run struct {
				Data struct {
					Params []struct{ Key, Value string } `json:"params"`
					Tags   []struct{ Key, Value string } `json:"tags"`
				} `json:"data"`
			} `json:"run"`
		}
		mlflowOK(t, "GET", base+api+"runs/get?run_id="+id, nil, &run)
		if !slices.Contains(run.Run.Data.Params, struct{ Key, Value string }{"lr", "0.1"}) ||
			!slices.Contains(run.Run.Data.Tags, struct{ Key, Value string }{"team", "vision"}) {
			t.Errorf("%s: runs/get %+v", base, run.Run.Data)
		}
	}

	// An artifact up through one replica, down through the other.
	art := bytes.Repeat([]byte("weights\n"), 100_000)
	sum := sha256.Sum256(art)
	root := "/api/2.0/mlflow-artifacts/artifacts/" + exp.Experiment.ID + "/" + id + "/artifacts/"
	req, _ := http.NewRequest("PUT", a+root+"model/weights.bin", bytes.NewReader(art))
	if code, body := send(t, req); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	mlflowOK(t, "PUT", a+root+"notes.txt", nil, nil) // an empty text
	// An image becomes a media value at the run's last step, its file in
	// the bucket under media/.
	var pic bytes.Buffer
	png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 4, 3)))
	req, _ = http.NewRequest("PUT", b+root+"plots/curve.png", bytes.NewReader(pic.Bytes()))
	if code, body := send(t, req); code != 200 {
		t.Fatalf("upload an image: %d %s", code, body)
	}
	req, _ = http.NewRequest("GET", b+root+"model/weights.bin", nil)
	_, got := send(t, req)
	if gs := sha256.Sum256(got); gs != sum {
		t.Errorf("download through the other replica: %d bytes, sha256 %x; want %d bytes, %x", len(got), gs, len(art), sum)
	}
	var list struct {
		Files []struct {
			Path  string `json:"path"`
			IsDir bool   `json:"is_dir"`
			Size  int64  `json:"file_size"`
		} `json:"files"`
	}
	mlflowOK(t, "GET", b+api+"artifacts/list?run_id="+id, nil, &list)
	if len(list.Files) != 3 || list.Files[0].Path != "model" || !list.Files[0].IsDir || list.Files[1].Path != "notes.txt" || list.Files[2].Path != "plots" {
		t.Errorf("artifacts/list: %+v", list.Files)
	}
	mlflowOK(t, "GET", a+api+"artifacts/list?run_id="+id+"&path=model", nil, &list)
	if len(list.Files) != 1 || list.Files[0].Path != "model/weights.bin" || list.Files[0].Size != int64(len(art)) {
		t.Errorf("artifacts/list of model: %+v", list.Files)
	}
	entries, err := files.List(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(entries, objstore.Entry{Path: "artifacts/model/weights.bin", Size: int64(len(art)), SHA256: hex.EncodeToString(sum[:])}) {
		t.Errorf("the bucket's manifest of the run: %+v", entries)
	}
	picSum := sha256.Sum256(pic.Bytes())
	media := runfmt.MediaPath("plots/curve", steps, hex.EncodeToString(picSum[:]), "png")
	if !slices.Contains(entries, objstore.Entry{Path: media, Size: int64(pic.Len()), SHA256: hex.EncodeToString(picSum[:])}) {
		t.Errorf("the bucket's manifest of the run has no %s: %+v", media, entries)
	}
	keys, err := db.MediaKeys(ctx, id)
	if err != nil || !slices.ContainsFunc(keys, func(k store.MediaKey) bool { return k.Key == "plots/curve" }) {
		t.Errorf("the run's media keys: %+v %v", keys, err)
	}
	arts, err := db.Artifacts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(arts, func(a store.Artifact) bool {
		return a.Path == "artifacts/model/weights.bin" && a.SHA256 == hex.EncodeToString(sum[:])
	}) {
		t.Errorf("the run's artifacts in the store: %+v", arts)
	}

	// A run that runlog's own client streamed: MLflow's writes go to an
	// attached log beside its run.log.
	const own = "ownrun01"
	log := runfmttest.New(runfmt.Header{ID: own, Name: "own", Project: "exp-5", Time: 1764201600})
	status, _ := postIngest(t, a, own, log.Bytes())
	if status != 200 {
		t.Fatalf("ingest: %d", status)
	}
	mlflowOK(t, "POST", b+api+"runs/log-parameter", map[string]any{"run_id": own, "key": "batch", "value": "64"}, nil)
	sizes, err := db.LogSizes(ctx, own)
	if err != nil || sizes["run.mlflow.log"] == 0 || sizes[layout.RunLogFile] != int64(len(log.Bytes())) {
		t.Errorf("streams of %s: %v %v", own, sizes, err)
	}
	run, err := db.Run(ctx, own)
	if err != nil || !strings.Contains(string(run.Config), `"batch":"64"`) {
		t.Errorf("run %s's config: %s %v", own, run.Config, err)
	}

	// Logged models, their metadata changed through either replica.
	var model struct {
		Model struct {
			Info struct {
				ID string `json:"model_id"`
			} `json:"info"`
		} `json:"model"`
	}
	mlflowOK(t, "POST", a+api+"logged-models", map[string]any{"experiment_id": exp.Experiment.ID, "name": "net", "source_run_id": id}, &model)
	mid := model.Model.Info.ID
	mlflowOK(t, "PATCH", b+api+"logged-models/"+mid+"/tags", map[string]any{"tags": []map[string]any{{"key": "k", "value": "v"}}}, nil)
	var got2 struct {
		Model struct {
			Info struct {
				Tags []struct{ Key, Value string } `json:"tags"`
			} `json:"info"`
		} `json:"model"`
	}
	mlflowOK(t, "GET", a+api+"logged-models/"+mid, nil, &got2)
	if len(got2.Model.Info.Tags) != 1 || got2.Model.Info.Tags[0].Value != "v" {
		t.Errorf("logged model through the other replica: %+v", got2)
	}
}

// postIngest sends a batch of a run's run.log to a replica's ingest API.
func postIngest(t *testing.T, base, id string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/ingest/"+id+"/run.log?offset=0", bytes.NewReader(body))
	req.Header.Set("X-Runlog-Client", "test")
	code, data := send(t, req)
	return code, string(data)
}

// TestTeamMLflowNoFiles: a team server started without a bucket logs
// runs through the MLflow API and refuses artifact uploads, saying why.
func TestTeamMLflowNoFiles(t *testing.T) {
	a, _ := mlflowReplica(t, pgtest.DB(t), nil)
	var created mlflowRun
	mlflowOK(t, "POST", a+api+"runs/create", map[string]any{"experiment_id": "0"}, &created)
	id := created.Run.Info.RunID
	mlflowOK(t, "POST", a+api+"runs/log-metric", map[string]any{"run_id": id, "key": "acc", "value": 0.5, "timestamp": 1764201601000}, nil)
	req, _ := http.NewRequest("PUT", a+"/api/2.0/mlflow-artifacts/artifacts/0/"+id+"/artifacts/x.bin", strings.NewReader("data"))
	if code, body := send(t, req); code != http.StatusNotImplemented || !strings.Contains(string(body), "--files") {
		t.Errorf("upload without a bucket: %d %s", code, body)
	}
	var list struct {
		Files []any `json:"files"`
	}
	mlflowOK(t, "GET", a+api+"artifacts/list?run_id="+id, nil, &list)
	if len(list.Files) != 0 {
		t.Errorf("artifacts/list without a bucket: %+v", list)
	}
}
