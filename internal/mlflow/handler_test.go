package mlflow

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
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// server is a handler on a fresh home, with helpers to call it.
type server struct {
	t    *testing.T
	home string
	st   *sqlite.DB
	h    http.Handler
}

func newServer(t *testing.T) *server {
	t.Helper()
	home := t.TempDir()
	st, err := sqlite.Open(layout.Store(home))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// A clock that moves a millisecond at each reading, safe for
	// concurrent requests.
	var ticks atomic.Int64
	start := time.Unix(1764201600, 0)
	return &server{t: t, home: home, st: st, h: NewHandler(st, home, Options{
		Warn: func(err error) { t.Errorf("warning: %v", err) },
		Now:  func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * time.Millisecond) },
	})}
}

// call sends a request and returns the status and the decoded body.
func (s *server) call(method, path, body string) (int, map[string]any) {
	s.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	if !strings.HasPrefix(path, "/") {
		path = TrackingPrefix + path
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, r)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json") // as the mlflow client sends
	}
	s.h.ServeHTTP(rec, req)
	var out map[string]any
	if rec.Body.Len() > 0 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			s.t.Fatalf("%s %s: response %q is not a JSON object: %v", method, path, rec.Body, err)
		}
	}
	return rec.Code, out
}

// ok sends a request that must succeed.
func (s *server) ok(method, path, body string) map[string]any {
	s.t.Helper()
	code, out := s.call(method, path, body)
	if code != http.StatusOK {
		s.t.Fatalf("%s %s %s: %d %v", method, path, body, code, out)
	}
	return out
}

// createRun creates a run in experiment exp and returns its id.
func (s *server) createRun(exp, body string) string {
	s.t.Helper()
	if body == "" {
		body = "{}"
	}
	var q map[string]any
	json.Unmarshal([]byte(body), &q)
	q["experiment_id"] = exp
	b, _ := json.Marshal(q)
	out := s.ok("POST", "runs/create", string(b))
	return get(out, "run", "info", "run_id").(string)
}

// getRun returns runs/get's run.
func (s *server) getRun(id string) map[string]any {
	s.t.Helper()
	return s.ok("GET", "runs/get?run_id="+id, "")["run"].(map[string]any)
}

// get walks a decoded JSON value.
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// kvs turns a list of {key, value} into a map.
func kvs(v any) map[string]any {
	out := map[string]any{}
	list, _ := v.([]any)
	for _, e := range list {
		m := e.(map[string]any)
		out[m["key"].(string)] = m["value"]
	}
	return out
}

func TestErrors(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", `{"run_name":"r"}`)
	s.ok("POST", "runs/log-parameter", `{"run_id":"`+run+`","key":"lr","value":"0.1"}`)
	metrics := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"key":"m","value":1,"timestamp":1764201600000,"step":%d}`, i)
		}
		return b.String()
	}
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		code   string
	}{
		{"unknown route", "GET", "runs/frobnicate", "", 404, codeEndpointNotFound},
		{"wrong method", "GET", "runs/create", "", 404, codeEndpointNotFound},
		{"unknown API", "GET", "/api/2.0/mlflow-artifacts/whatever", "", 404, codeEndpointNotFound},
		{"unknown run", "GET", "runs/get?run_id=nope", "", 404, codeNotFound},
		{"no run id", "GET", "runs/get", "", 400, codeInvalidParameter},
		{"unknown experiment", "GET", "experiments/get?experiment_id=42", "", 404, codeNotFound},
		{"experiment by unknown name", "GET", "experiments/get-by-name?experiment_name=nope", "", 404, codeNotFound},
		{"experiment exists", "POST", "experiments/create", `{"name":"Default"}`, 400, codeAlreadyExists},
		{"empty experiment name", "POST", "experiments/create", `{"name":""}`, 400, codeInvalidParameter},
		{"run in unknown experiment", "POST", "runs/create", `{"experiment_id":"9"}`, 404, codeNotFound},
		{"malformed JSON", "POST", "runs/log-metric", `{"run_id":`, 400, codeBadRequest},
		{"metric without value", "POST", "runs/log-metric", `{"run_id":"` + run + `","key":"m","timestamp":1}`, 400, codeInvalidParameter},
		{"metric without timestamp", "POST", "runs/log-metric", `{"run_id":"` + run + `","key":"m","value":1}`, 400, codeInvalidParameter},
		{"bad metric name", "POST", "runs/log-metric", `{"run_id":"` + run + `","key":"a=b","value":1,"timestamp":1}`, 400, codeInvalidParameter},
		{"metric name that is a path", "POST", "runs/log-metric", `{"run_id":"` + run + `","key":"../x","value":1,"timestamp":1}`, 400, codeInvalidParameter},
		{"value not a number", "POST", "runs/log-metric", `{"run_id":"` + run + `","key":"m","value":"abc","timestamp":1}`, 400, codeInvalidParameter},
		{"changed param", "POST", "runs/log-parameter", `{"run_id":"` + run + `","key":"lr","value":"0.2"}`, 400, codeInvalidParameter},
		{"too many metrics", "POST", "runs/log-batch", `{"run_id":"` + run + `","metrics":[` + metrics(1001) + `]}`, 400, codeInvalidParameter},
		{"duplicate params", "POST", "runs/log-batch", `{"run_id":"` + run + `","params":[{"key":"a","value":"1"},{"key":"a","value":"1"}]}`, 400, codeInvalidParameter},
		{"param too long", "POST", "runs/log-parameter", `{"run_id":"` + run + `","key":"long","value":"` + strings.Repeat("x", 6001) + `"}`, 400, codeInvalidParameter},
		{"tag too long", "POST", "runs/set-tag", `{"run_id":"` + run + `","key":"t","value":"` + strings.Repeat("x", 8001) + `"}`, 400, codeInvalidParameter},
		{"request over 1 MB", "POST", "runs/log-batch", `{"run_id":"` + run + `","tags":[{"key":"t","value":"` + strings.Repeat("x", 1_000_001) + `"}]}`, 400, codeInvalidParameter},
		{"delete a missing tag", "POST", "runs/delete-tag", `{"run_id":"` + run + `","key":"nope"}`, 404, codeNotFound},
		{"bad filter", "POST", "runs/search", `{"experiment_ids":["0"],"filter":"metrics.loss <"}`, 400, codeInvalidParameter},
		{"OR in a filter", "POST", "runs/search", `{"experiment_ids":["0"],"filter":"params.a = '1' OR params.b = '2'"}`, 400, codeInvalidParameter},
		{"string for a metric", "POST", "runs/search", `{"experiment_ids":["0"],"filter":"metrics.loss = 'x'"}`, 400, codeInvalidParameter},
		{"max_results too large", "POST", "runs/search", `{"experiment_ids":["0"],"max_results":50001}`, 400, codeInvalidParameter},
		{"bad page token", "POST", "runs/search", `{"experiment_ids":["0"],"page_token":"%%%"}`, 400, codeInvalidParameter},
		{"delete the default experiment", "POST", "experiments/delete", `{"experiment_id":"0"}`, 400, codeInvalidParameter},
		{"artifact outside the run", "PUT", "/api/2.0/mlflow-artifacts/artifacts/0/" + run + "/artifacts/../run.log", "x", 400, codeInvalidParameter},
		{"artifact of an unknown run", "GET", "/api/2.0/mlflow-artifacts/artifacts/0/nope/artifacts/x", "", 404, codeNotFound},
		{"missing artifact", "GET", "/api/2.0/mlflow-artifacts/artifacts/0/" + run + "/artifacts/x", "", 404, codeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := s.call(tt.method, tt.path, tt.body)
			if code != tt.status || out["error_code"] != tt.code || out["message"] == "" {
				t.Errorf("%d %v; want %d %s with a message", code, out, tt.status, tt.code)
			}
		})
	}
}

func TestExperiments(t *testing.T) {
	s := newServer(t)
	def := s.ok("GET", "experiments/get-by-name?experiment_name=Default", "")
	if get(def, "experiment", "experiment_id") != "0" || get(def, "experiment", "lifecycle_stage") != "active" {
		t.Errorf("default experiment: %v", def)
	}
	id := s.ok("POST", "experiments/create", `{"name":"tinylm","tags":[{"key":"team","value":"nlp"}]}`)["experiment_id"].(string)
	e := s.ok("GET", "experiments/get?experiment_id="+id, "")["experiment"]
	if get(e, "name") != "tinylm" || get(e, "artifact_location") != "mlflow-artifacts:/"+id || kvs(get(e, "tags"))["team"] != "nlp" {
		t.Errorf("created experiment: %v", e)
	}
	s.ok("POST", "experiments/update", `{"experiment_id":"`+id+`","new_name":"tiny-lm"}`)
	s.ok("POST", "experiments/set-experiment-tag", `{"experiment_id":"`+id+`","key":"goal","value":"ppl<10"}`)
	e = s.ok("GET", "experiments/get-by-name?experiment_name=tiny-lm", "")["experiment"]
	if get(e, "experiment_id") != id || kvs(get(e, "tags"))["goal"] != "ppl<10" {
		t.Errorf("renamed experiment: %v", e)
	}
	run := s.createRun(id, "")
	r, _ := s.st.Run(context.Background(), run)
	if r.Project != "tinylm" {
		t.Errorf("a run of the renamed experiment is in project %q; want its project, tinylm", r.Project)
	}

	// Deleting an experiment deletes its runs, for MLflow; restoring it
	// brings them back.
	s.ok("POST", "experiments/delete", `{"experiment_id":"`+id+`"}`)
	if got := get(s.getRun(run), "info", "lifecycle_stage"); got != "deleted" {
		t.Errorf("run of a deleted experiment: %v", got)
	}
	if code, out := s.call("POST", "runs/create", `{"experiment_id":"`+id+`"}`); code != 400 {
		t.Errorf("run in a deleted experiment: %d %v", code, out)
	}
	list := s.ok("POST", "experiments/search", `{"view_type":"ALL"}`)["experiments"].([]any)
	active := s.ok("POST", "experiments/search", `{}`)["experiments"].([]any)
	if len(list) != 2 || len(active) != 1 {
		t.Errorf("search: %d experiments in all, %d active; want 2 and 1", len(list), len(active))
	}
	s.ok("POST", "experiments/restore", `{"experiment_id":"`+id+`"}`)
	found := s.ok("POST", "experiments/search", `{"filter":"name LIKE 'tiny%'"}`)["experiments"].([]any)
	if len(found) != 1 || get(found[0], "experiment_id") != id {
		t.Errorf("search by name: %v", found)
	}

	// The registry lives in the home: a new handler knows the experiment.
	h2 := NewHandler(s.st, s.home, Options{})
	rec := httptest.NewRecorder()
	h2.ServeHTTP(rec, httptest.NewRequest("GET", TrackingPrefix+"experiments/get?experiment_id="+id, nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "tiny-lm") {
		t.Errorf("after a restart: %d %s", rec.Code, rec.Body)
	}
}

// TestNativeProject checks that a project that runlog's own client wrote to
// is an experiment, and that its runs can be read and written to.
func TestNativeProject(t *testing.T) {
	s := newServer(t)
	r, err := runlog.Init(runlog.Options{Home: s.home, Project: "native", Name: "go-run", DisableGit: true,
		Config: map[string]any{"model": map[string]any{"d_model": 512}, "lr": 3e-4}, Tags: []string{"baseline"}})
	if err != nil {
		t.Fatal(err)
	}
	r.LogStep(0, map[string]float64{"train_loss": 4})
	r.LogStep(10, map[string]float64{"train_loss": 2})
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	s.index()
	e := s.ok("GET", "experiments/get-by-name?experiment_name=native", "")
	exp := get(e, "experiment", "experiment_id").(string)
	runs := s.ok("POST", "runs/search", `{"experiment_ids":["`+exp+`"]}`)["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("runs of the native project: %v", runs)
	}
	run := runs[0]
	params := kvs(get(run, "data", "params"))
	tags := kvs(get(run, "data", "tags"))
	if params["model.d_model"] != "512" || params["lr"] != "0.0003" || tags["baseline"] != "" || tags["mlflow.runName"] != "go-run" {
		t.Errorf("params %v, tags %v", params, tags)
	}
	id := get(run, "info", "run_id").(string)
	if get(run, "info", "status") != "FINISHED" || kvs(get(run, "data", "metrics"))["train_loss"] != 2.0 {
		t.Errorf("run %v", run)
	}
	// Writing to it goes to an attached log, not to the run's own run.log.
	s.ok("POST", "runs/log-batch", `{"run_id":"`+id+`","metrics":[{"key":"val_loss","value":2.5,"timestamp":1764201700000,"step":10}],"params":[{"key":"batch_size","value":"32"}],"tags":[{"key":"reviewed","value":"yes"}]}`)
	if _, err := os.Stat(filepath.Join(layout.RunDir(s.home, id), attachedLog)); err != nil {
		t.Errorf("attached log: %v", err)
	}
	got := s.getRun(id)
	if kvs(get(got, "data", "params"))["batch_size"] != "32" || kvs(get(got, "data", "params"))["model.d_model"] != "512" ||
		kvs(get(got, "data", "tags"))["reviewed"] != "yes" || kvs(get(got, "data", "metrics"))["val_loss"] != 2.5 {
		t.Errorf("after writing: %v", got)
	}
	if code, out := s.call("POST", "runs/set-tag", `{"run_id":"`+id+`","key":"mlflow.runName","value":"other"}`); code != 400 {
		t.Errorf("renaming a run not created through MLflow: %d %v", code, out)
	}
	// The config kept its own text, with the param added at the end.
	st, _ := s.st.Run(context.Background(), id)
	if want := `{"lr":0.0003,"model":{"d_model":512},"batch_size":"32"}`; string(st.Config) != want {
		t.Errorf("config %s; want %s", st.Config, want)
	}
}

func (s *server) index() {
	s.t.Helper()
	// A read after a write of another process: index as `runlog` does.
	if _, err := ingestHome(s.st, s.home); err != nil {
		s.t.Fatal(err)
	}
}

func TestRunLifecycle(t *testing.T) {
	s := newServer(t)
	parent := s.createRun("0", `{"run_name":"parent","start_time":1764201600000,"tags":[{"key":"mlflow.user","value":"ada"},{"key":"mlflow.source.name","value":"train.py"},{"key":"mlflow.source.type","value":"LOCAL"},{"key":"mlflow.source.git.commit","value":"9fceb02"},{"key":"team","value":"nlp"},{"key":"mlflow.note.content","value":"first"}]}`)
	child := s.createRun("0", `{"tags":[{"key":"mlflow.parentRunId","value":"`+parent+`"}]}`)

	p := s.getRun(parent)
	tags := kvs(get(p, "data", "tags"))
	want := map[string]any{"mlflow.runName": "parent", "mlflow.user": "ada", "mlflow.source.name": "train.py",
		"mlflow.source.type": "LOCAL", "mlflow.source.git.commit": "9fceb02", "team": "nlp", "mlflow.note.content": "first"}
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("tag %s = %v; want %v", k, tags[k], v)
		}
	}
	if get(p, "info", "start_time") != 1764201600000.0 || get(p, "info", "user_id") != "ada" || get(p, "info", "status") != "RUNNING" ||
		get(p, "info", "artifact_uri") != "mlflow-artifacts:/0/"+parent+"/artifacts" {
		t.Errorf("info %v", get(p, "info"))
	}
	r, _ := s.st.Run(context.Background(), parent)
	if r.User != "ada" || r.Notes != "first" || !slices.Equal(r.Command, []string{"train.py"}) || r.Git == nil || r.Git.Commit != "9fceb02" || !slices.Contains(r.Tags, "team=nlp") {
		t.Errorf("the runlog run: %+v", r)
	}
	c := s.getRun(child)
	if kvs(get(c, "data", "tags"))["mlflow.parentRunId"] != parent || get(c, "info", "run_name") == "" {
		t.Errorf("child %v", c)
	}
	if cr, _ := s.st.Run(context.Background(), child); cr.Parent != parent {
		t.Errorf("child's parent %q", cr.Parent)
	}

	// Tags change: a new value replaces the runlog tag; a long one is kept
	// in the summary; deleting removes either.
	s.ok("POST", "runs/set-tag", `{"run_id":"`+parent+`","key":"team","value":"vision"}`)
	long := strings.Repeat("y", 300)
	s.ok("POST", "runs/set-tag", `{"run_id":"`+parent+`","key":"description","value":"`+long+`"}`)
	s.ok("POST", "runs/set-tag", `{"run_id":"`+parent+`","key":"mlflow.note.content","value":"second"}`)
	r, _ = s.st.Run(context.Background(), parent)
	if !slices.Contains(r.Tags, "team=vision") || slices.Contains(r.Tags, "team=nlp") || r.Notes != "second" || summaryStrings(r.Summary)["description"] != long {
		t.Errorf("after set-tag: tags %v notes %q summary %s", r.Tags, r.Notes, r.Summary)
	}
	s.ok("POST", "runs/delete-tag", `{"run_id":"`+parent+`","key":"team"}`)
	s.ok("POST", "runs/delete-tag", `{"run_id":"`+parent+`","key":"description"}`)
	tags = kvs(get(s.getRun(parent), "data", "tags"))
	if _, ok := tags["team"]; ok {
		t.Errorf("deleted tag team is still there: %v", tags)
	}
	if _, ok := tags["description"]; ok {
		t.Errorf("deleted tag description is still there: %v", tags)
	}

	// Rename, finish, resume.
	info := s.ok("POST", "runs/update", `{"run_id":"`+parent+`","run_name":"renamed","status":"FINISHED","end_time":1764205200000}`)["run_info"]
	if get(info, "run_name") != "renamed" || get(info, "status") != "FINISHED" || get(info, "end_time") != 1764205200000.0 {
		t.Errorf("update: %v", info)
	}
	r, _ = s.st.Run(context.Background(), parent)
	if r.Name != "renamed" || r.Status != "finished" || r.Notes != "second" || r.User != "ada" {
		t.Errorf("after the rename: %+v", r)
	}
	s.ok("POST", "runs/update", `{"run_id":"`+parent+`","status":"RUNNING"}`)
	r, _ = s.st.Run(context.Background(), parent)
	if r.Status != "running" || r.Segments != 2 {
		t.Errorf("resumed: status %s, %d segments; want running, 2", r.Status, r.Segments)
	}

	// Delete and restore.
	s.ok("POST", "runs/delete", `{"run_id":"`+child+`"}`)
	if get(s.getRun(child), "info", "lifecycle_stage") != "deleted" {
		t.Error("deleted run is not deleted")
	}
	if code, _ := s.call("POST", "runs/log-metric", `{"run_id":"`+child+`","key":"m","value":1,"timestamp":1}`); code != 400 {
		t.Errorf("logging to a deleted run: %d", code)
	}
	active := s.ok("POST", "runs/search", `{"experiment_ids":["0"]}`)["runs"].([]any)
	deleted := s.ok("POST", "runs/search", `{"experiment_ids":["0"],"run_view_type":"DELETED_ONLY"}`)["runs"].([]any)
	if len(active) != 1 || len(deleted) != 1 {
		t.Errorf("search: %d active, %d deleted; want 1 and 1", len(active), len(deleted))
	}
	s.ok("POST", "runs/restore", `{"run_id":"`+child+`"}`)
	if get(s.getRun(child), "info", "lifecycle_stage") != "active" {
		t.Error("restored run is not active")
	}
}

func TestMetrics(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	batch := `{"run_id":"` + run + `","metrics":[
		{"key":"loss","value":"NaN","timestamp":1764201600000,"step":0},
		{"key":"loss","value":3.5,"timestamp":"1764201601000","step":"1"},
		{"key":"loss","value":2.5,"timestamp":1764201602000,"step":2},
		{"key":"inf","value":"Infinity","timestamp":1764201600000},
		{"key":"inf","value":"-Infinity","timestamp":1764201600001,"step":1},
		{"key":"loss","value":2.5,"timestamp":1764201602000,"step":2}]}`
	s.ok("POST", "runs/log-batch", batch)
	s.ok("POST", "runs/log-batch", batch) // a retry
	s.ok("POST", "runs/log-metric", `{"run_id":"`+run+`","key":"loss","value":2.5,"timestamp":1764201602000,"step":2}`)
	s.ok("POST", "runs/log-metric", `{"run_id":"`+run+`","key":"loss","value":2.0,"timestamp":1764201602000,"step":2}`)

	hist := s.ok("GET", "metrics/get-history?run_id="+run+"&metric_key=loss", "")["metrics"].([]any)
	if len(hist) != 4 {
		t.Fatalf("history: %v; want 4 points, each stored once", hist)
	}
	if get(hist[0], "value") != "NaN" || get(hist[1], "value") != 3.5 || get(hist[1], "timestamp") != 1764201601000.0 || get(hist[3], "value") != 2.0 {
		t.Errorf("history %v", hist)
	}
	metrics := kvs(get(s.getRun(run), "data", "metrics"))
	if metrics["loss"] != 2.0 || metrics["inf"] != "-Infinity" {
		t.Errorf("latest values %v", metrics)
	}

	// Pages of history.
	var pts []point
	for i := range 25 {
		pts = append(pts, point{key: "paged", value: float64(i), ts: 1764201600000, step: int64(i)})
	}
	s.ok("POST", "runs/log-batch", batchBody(run, pts))
	var all []any
	token := ""
	for pages := 0; ; pages++ {
		out := s.ok("GET", "metrics/get-history?run_id="+run+"&metric_key=paged&max_results=10&page_token="+token, "")
		all = append(all, out["metrics"].([]any)...)
		next, _ := out["next_page_token"].(string)
		if next == "" {
			if pages != 2 {
				t.Errorf("%d pages; want 3", pages+1)
			}
			break
		}
		token = next
	}
	if len(all) != 25 || get(all[24], "step") != 24.0 {
		t.Errorf("paged history: %d points", len(all))
	}

	// A new handler on the same home (a restarted server) still knows
	// what is stored.
	h2 := NewHandler(s.st, s.home, Options{})
	for range 2 {
		rec := httptest.NewRecorder()
		h2.ServeHTTP(rec, jsonPost(TrackingPrefix+"runs/log-batch", strings.NewReader(batch)))
		if rec.Code != 200 {
			t.Fatal(rec.Body)
		}
	}
	if hist := s.ok("GET", "metrics/get-history?run_id="+run+"&metric_key=loss", "")["metrics"].([]any); len(hist) != 4 {
		t.Errorf("after a restart, a retried batch was stored again: %d points", len(hist))
	}
	ser, _ := s.st.Series(context.Background(), run)
	for _, x := range ser {
		if x.Key == "loss" && (x.Stats.NaN != 1 || x.Stats.Count != 4) {
			t.Errorf("runlog series loss: %+v", x.Stats)
		}
	}
}

func batchBody(run string, pts []point) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"run_id":%q,"metrics":[`, run)
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"key":%q,"value":%s,"timestamp":%d,"step":%d}`, p.key, appendFloat(nil, p.value), p.ts, p.step)
	}
	b.WriteString("]}")
	return b.String()
}

func TestParams(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	s.ok("POST", "runs/log-batch", `{"run_id":"`+run+`","params":[{"key":"lr","value":"1e-3"},{"key":"optimizer","value":"adam"}]}`)
	s.ok("POST", "runs/log-parameter", `{"run_id":"`+run+`","key":"lr","value":"1e-3"}`) // the same value: fine
	s.ok("POST", "runs/log-parameter", `{"run_id":"`+run+`","key":"model.layers","value":"4"}`)
	code, out := s.call("POST", "runs/log-batch", `{"run_id":"`+run+`","params":[{"key":"new","value":"1"},{"key":"lr","value":"1e-2"}]}`)
	if code != 400 {
		t.Fatalf("a changed param in a batch: %d %v", code, out)
	}
	params := kvs(get(s.getRun(run), "data", "params"))
	if len(params) != 3 || params["lr"] != "1e-3" || params["model.layers"] != "4" {
		t.Errorf("params %v; want lr, optimizer and model.layers, and nothing of the refused batch", params)
	}
	r, _ := s.st.Run(context.Background(), run)
	var cfg map[string]any
	json.Unmarshal(r.Config, &cfg)
	if cfg["lr"] != "1e-3" || cfg["model.layers"] != "4" {
		t.Errorf("runlog config %s", r.Config)
	}
}

func TestSearch(t *testing.T) {
	s := newServer(t)
	exp := s.ok("POST", "experiments/create", `{"name":"sweep"}`)["experiment_id"].(string)
	ids := map[string]string{}
	for i, lr := range []string{"0.1", "0.01", "0.001"} {
		name := "lr-" + lr
		id := s.createRun(exp, `{"run_name":"`+name+`","start_time":`+fmt.Sprint(1764201600000+int64(i)*1000)+`}`)
		ids[name] = id
		loss := []string{"2.5", "1.5", `"NaN"`}[i]
		s.ok("POST", "runs/log-batch", `{"run_id":"`+id+`","params":[{"key":"lr","value":"`+lr+`"}],"tags":[{"key":"opt","value":"`+[]string{"adam", "sgd", "adam"}[i]+`"}],
			"metrics":[{"key":"loss","value":`+loss+`,"timestamp":1764201700000,"step":5}]}`)
	}
	s.ok("POST", "runs/update", `{"run_id":"`+ids["lr-0.1"]+`","status":"FINISHED"}`)
	tests := []struct {
		filter string
		order  string
		want   []string
	}{
		{"", "", []string{"lr-0.001", "lr-0.01", "lr-0.1"}}, // newest first
		{"metrics.loss < 2", "", []string{"lr-0.01"}},
		{"metrics.loss >= 1.5", `"metrics.loss DESC"`, []string{"lr-0.1", "lr-0.01"}},
		{"metrics.loss != 2.5", "", []string{"lr-0.001", "lr-0.01"}}, // NaN is not 2.5
		{"params.lr = '0.01'", "", []string{"lr-0.01"}},
		{"params.lr != '0.01' AND tags.opt = 'adam'", "", []string{"lr-0.001", "lr-0.1"}},
		{"tags.opt LIKE 'a%'", "", []string{"lr-0.001", "lr-0.1"}},
		{"tags.opt ILIKE 'ADA_'", "", []string{"lr-0.001", "lr-0.1"}},
		{"tags.`opt` IN ('sgd', 'x')", "", []string{"lr-0.01"}},
		{"tags.missing IS NULL AND params.lr IS NOT NULL", `"attributes.run_name"`, []string{"lr-0.001", "lr-0.01", "lr-0.1"}},
		{"attributes.status = 'FINISHED'", "", []string{"lr-0.1"}},
		{"attributes.run_name = 'lr-0.01'", "", []string{"lr-0.01"}},
		{"run_name LIKE 'lr-0.0%'", `"run_name ASC"`, []string{"lr-0.001", "lr-0.01"}},
		{"attributes.start_time > 1764201600500", "", []string{"lr-0.001", "lr-0.01"}},
		{"", `"metrics.loss ASC"`, []string{"lr-0.01", "lr-0.1", "lr-0.001"}}, // NaN after numbers
		{"", `"params.lr"`, []string{"lr-0.001", "lr-0.01", "lr-0.1"}},
		{"metrics.missing > 0", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.filter+" "+tt.order, func(t *testing.T) {
			f, _ := json.Marshal(tt.filter)
			body := `{"experiment_ids":["` + exp + `"],"filter":` + string(f)
			if tt.order != "" {
				body += `,"order_by":[` + tt.order + `]`
			}
			runs, _ := s.ok("POST", "runs/search", body+"}")["runs"].([]any)
			var got []string
			for _, r := range runs {
				got = append(got, get(r, "info", "run_name").(string))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("found %v; want %v", got, tt.want)
			}
		})
	}

	// Pages.
	var names []string
	token := ""
	for {
		out := s.ok("POST", "runs/search", `{"experiment_ids":["`+exp+`"],"max_results":2,"page_token":"`+token+`"}`)
		for _, r := range out["runs"].([]any) {
			names = append(names, get(r, "info", "run_name").(string))
		}
		next, _ := out["next_page_token"].(string)
		if next == "" {
			break
		}
		token = next
	}
	if !slices.Equal(names, []string{"lr-0.001", "lr-0.01", "lr-0.1"}) {
		t.Errorf("paged search: %v", names)
	}
	// The GET form.
	out := s.ok("POST", "runs/search", `{"experiment_ids":["`+exp+`"],"filter":"params.lr = '0.1'"}`)
	if m := kvs(get(out["runs"].([]any)[0], "data", "metrics")); m["loss"] != 2.5 {
		t.Errorf("metrics in search results: %v", m)
	}
}

func TestArtifacts(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	base := "/api/2.0/mlflow-artifacts/artifacts/0/" + run + "/artifacts/"
	s.ok("PUT", base+"model/weights.bin", "weights")
	s.ok("PUT", base+"notes.txt", "hello")
	s.ok("PUT", base+"notes.txt", "hello again") // replaced
	list := s.ok("GET", "/api/2.0/mlflow-artifacts/artifacts?path=0/"+run+"/artifacts", "")["files"].([]any)
	if len(list) != 2 || get(list[0], "path") != "model" || get(list[0], "is_dir") != true || get(list[1], "file_size") != 11.0 {
		t.Errorf("list %v", list)
	}
	sub := s.ok("GET", "/api/2.0/mlflow-artifacts/artifacts?path=0/"+run+"/artifacts/model", "")["files"].([]any)
	if len(sub) != 1 || get(sub[0], "path") != "weights.bin" {
		t.Errorf("list of a folder %v", sub)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, httptest.NewRequest("GET", base+"notes.txt", nil))
	if rec.Code != 200 || rec.Body.String() != "hello again" {
		t.Errorf("download: %d %q", rec.Code, rec.Body)
	}
	arts, _ := s.st.Artifacts(context.Background(), run)
	if len(arts) != 3 || arts[0].Path != "artifacts/model/weights.bin" || arts[0].SHA256 == "" || arts[2].Size != 11 {
		t.Errorf("runlog artifacts %+v", arts)
	}
	byRun := s.ok("GET", "artifacts/list?run_id="+run+"&path=model", "")
	if files := byRun["files"].([]any); len(files) != 1 || get(files[0], "path") != "model/weights.bin" {
		t.Errorf("artifacts/list %v", byRun)
	}
}

// TestConcurrentLogging logs to one run from many goroutines at once.
func TestConcurrentLogging(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	srv := httptest.NewServer(s.h)
	defer srv.Close()
	const clients, batches = 8, 5
	errs := make(chan error, clients)
	for c := range clients {
		go func() {
			for b := range batches {
				var pts []point
				for i := range 100 {
					pts = append(pts, point{key: fmt.Sprintf("c%d", c), value: float64(i), ts: 1764201600000 + int64(b), step: int64(b*100 + i)})
				}
				resp, err := http.Post(srv.URL+TrackingPrefix+"runs/log-batch", "application/json", strings.NewReader(batchBody(run, pts)))
				if err == nil {
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
					resp.Body.Close()
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Metrics are indexed by the next call that reads.
	if code, _ := s.call("GET", "runs/get?run_id="+run, ""); code != 200 {
		t.Fatalf("runs/get: %d", code)
	}
	ser, _ := s.st.Series(context.Background(), run)
	total := int64(0)
	for _, x := range ser {
		total += x.Stats.Count
	}
	if len(ser) != clients || total != clients*batches*100 {
		t.Errorf("%d series, %d points; want %d and %d", len(ser), total, clients, clients*batches*100)
	}
}
