package mlflow

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// Issue 12: where runlog answers as MLflow's server does.

func TestParentRunIDKeptAsGiven(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", `{"tags":[{"key":"mlflow.parentRunId","value":"no-such-run"}]}`)
	if got := kvs(get(s.getRun(run), "data", "tags"))["mlflow.parentRunId"]; got != "no-such-run" {
		t.Errorf("mlflow.parentRunId = %v, want no-such-run", got)
	}
}

func TestHistoryOfUnloggedKey(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	out := s.ok("GET", "metrics/get-history?run_id="+run+"&metric_key=never", "")
	if ms, ok := out["metrics"].([]any); !ok || len(ms) != 0 {
		t.Errorf("history of an unlogged key: %v, want an empty list", out)
	}
	if code, _ := s.call("GET", "metrics/get-history?run_id=nope&metric_key=never", ""); code != http.StatusNotFound {
		t.Errorf("history of an unknown run: %d, want 404", code)
	}
}

func TestSearchExperimentsDefaultOrder(t *testing.T) {
	s := newServer(t)
	var ids []string
	for i := range 3 {
		ids = append(ids, s.ok("POST", "experiments/create", fmt.Sprintf(`{"name":"e%d"}`, i))["experiment_id"].(string))
	}
	// Deleting and restoring updates last_update_time, which must not
	// change the order: creation_time DESC, then experiment_id.
	s.ok("POST", "experiments/delete", `{"experiment_id":"`+ids[0]+`"}`)
	s.ok("POST", "experiments/restore", `{"experiment_id":"`+ids[0]+`"}`)
	out := s.ok("POST", "experiments/search", `{}`)
	var got []string
	for _, e := range out["experiments"].([]any) {
		got = append(got, get(e, "experiment_id").(string))
	}
	want := []string{ids[2], ids[1], ids[0], "0"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestMLflowWording(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	tests := []struct {
		name, method, path, body, want string
	}{
		{"number for a string", "POST", "runs/set-tag", `{"run_id":31,"key":"k","value":"v"}`,
			"Invalid value 31 for parameter 'run_id' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters."},
		{"string for a number", "POST", "runs/log-metric", `{"run_id":"` + run + `","key":"m","value":"abc","timestamp":1}`,
			`Invalid value "abc" for parameter 'value' supplied:  Hint: Value was of type 'str'.`},
		{"list for a string", "POST", "runs/log-parameter", `{"run_id":"` + run + `","key":["a"],"value":"1"}`,
			`Invalid value ["a"] for parameter 'key' supplied:  Hint: Value was of type 'list'.`},
		{"missing tag key", "POST", "runs/set-tag", `{"run_id":"` + run + `","value":"v"}`,
			"Missing value for required parameter 'key'."},
		{"bad metric key", "POST", "runs/log-metric", `{"run_id":"` + run + `","key":"a=b","value":1,"timestamp":1}`,
			`Invalid value "a=b" for parameter 'key' supplied: Names may only contain alphanumerics`},
		{"bad key in a batch", "POST", "runs/log-batch", `{"run_id":"` + run + `","metrics":[{"key":"../x","value":1,"timestamp":1}]}`,
			`Invalid value "../x" for parameter 'metrics[0].key' supplied: Names may be treated as files`},
		{"bad max_results in a query", "GET", "metrics/get-history?run_id=" + run + "&metric_key=m&max_results=x", "",
			`Invalid value "x" for parameter 'max_results' supplied`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := s.call(tt.method, tt.path, tt.body)
			msg, _ := out["message"].(string)
			if code != 400 || out["error_code"] != codeInvalidParameter || !strings.Contains(msg, tt.want) {
				t.Errorf("%d %v\nwant 400 INVALID_PARAMETER_VALUE with %q", code, out, tt.want)
			}
			if strings.Contains(msg, "Go struct") || strings.Contains(msg, "Request.") {
				t.Errorf("message names Go's types: %s", msg)
			}
		})
	}
}

func TestNegativeSteps(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	s.ok("POST", "runs/log-metric", `{"run_id":"`+run+`","key":"loss","value":9,"timestamp":1764201600000,"step":-1}`)
	s.ok("POST", "runs/log-batch", `{"run_id":"`+run+`","metrics":[`+
		`{"key":"loss","value":1,"timestamp":1764201600001,"step":0},`+
		`{"key":"loss","value":8,"timestamp":1764201600002,"step":-1000000000000}]}`)
	out := s.ok("GET", "metrics/get-history?run_id="+run+"&metric_key=loss", "")
	var steps []float64
	for _, m := range out["metrics"].([]any) {
		steps = append(steps, get(m, "step").(float64))
	}
	if fmt.Sprint(steps) != "[-1e+12 -1 0]" {
		t.Errorf("steps %v, want -1e12, -1, 0", steps)
	}
	// runs/get's latest value is at the greatest step.
	ms := get(s.getRun(run), "data", "metrics").([]any)
	if len(ms) != 1 || get(ms[0], "step") != 0.0 || get(ms[0], "value") != 1.0 {
		t.Errorf("latest metrics %v, want loss 1 at step 0", ms)
	}
	// And again from the run folder alone: the store is rebuilt.
	if _, err := ingestHome(s.st, s.home); err != nil {
		t.Fatal(err)
	}
}

func TestCustomArtifactLocationRefused(t *testing.T) {
	s := newServer(t)
	code, out := s.call("POST", "experiments/create", `{"name":"x","artifact_location":"/data/elsewhere"}`)
	if code != 400 || out["error_code"] != codeInvalidParameter || !strings.Contains(out["message"].(string), "artifact_location") {
		t.Errorf("custom artifact_location: %d %v, want 400 naming artifact_location", code, out)
	}
	if code, _ := s.call("GET", "experiments/get-by-name?experiment_name=x", ""); code != 404 {
		t.Errorf("the refused experiment exists: %d", code)
	}
}

func TestHistoryBulkInterval(t *testing.T) {
	s := newServer(t)
	a, b := s.createRun("0", ""), s.createRun("0", "")
	var batch strings.Builder
	for i := range 100 {
		if i > 0 {
			batch.WriteByte(',')
		}
		fmt.Fprintf(&batch, `{"key":"loss","value":%d,"timestamp":%d,"step":%d}`, i, 1764201600000+i, i)
	}
	s.ok("POST", "runs/log-batch", `{"run_id":"`+a+`","metrics":[`+batch.String()+`]}`)
	s.ok("POST", "runs/log-metric", `{"run_id":"`+b+`","key":"loss","value":5,"timestamp":1764201600000,"step":3}`)
	q := "metrics/get-history-bulk-interval?run_ids=" + a + "&run_ids=" + b + "&metric_key=loss"
	steps := func(out map[string]any, run string) []int {
		var s []int
		for _, m := range out["metrics"].([]any) {
			if get(m, "run_id") == run {
				s = append(s, int(get(m, "step").(float64)))
			}
		}
		return s
	}
	tests := []struct {
		query string
		a, b  string
	}{
		// 100 points in 7 buckets of 15, 15, 14, 14, 14, 14, 14: the
		// first of each, the last (99) in place of the last bucket's.
		{"&max_results=7", "[0 15 30 44 58 72 99]", "[3]"},
		{"&max_results=1", "[99]", "[3]"},
		{"", fmt.Sprint(seq(0, 100)), "[3]"},
		{"&start_step=10&end_step=14&max_results=100", "[10 11 12 13 14]", ""},
		{"&start_step=0&end_step=30&max_results=4", "[0 8 16 30]", "[3]"},
	}
	for _, tt := range tests {
		out := s.ok("GET", q+tt.query, "")
		if got := fmt.Sprint(steps(out, a)); got != tt.a {
			t.Errorf("%s: run a steps %s, want %s", tt.query, got, tt.a)
		}
		if got := steps(out, b); tt.b != "" && fmt.Sprint(got) != tt.b || tt.b == "" && len(got) > 0 {
			t.Errorf("%s: run b steps %v, want %s", tt.query, got, tt.b)
		}
	}
	for _, bad := range []string{"&start_step=1", "&start_step=5&end_step=1", "&max_results=0", "&max_results=2501"} {
		if code, _ := s.call("GET", q+bad, ""); code != 400 {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	if code, _ := s.call("GET", "metrics/get-history-bulk-interval?metric_key=loss", ""); code != 400 {
		t.Errorf("no run ids: %d, want 400", code)
	}
	if code, _ := s.call("GET", "metrics/get-history-bulk-interval?run_ids=nope&metric_key=loss", ""); code != 404 {
		t.Errorf("unknown run: %d, want 404", code)
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestDatasetInputs(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	input := func(name, digest, context string) string {
		return `{"tags":[{"key":"mlflow.data.context","value":"` + context + `"}],"dataset":{"name":"` + name +
			`","digest":"` + digest + `","source_type":"local","source":"{\"uri\":\"data/train.npy\"}","schema":"{}"}}`
	}
	s.ok("POST", "runs/log-inputs", `{"run_id":"`+run+`","datasets":[`+input("train", "d1", "training")+`]}`)
	s.ok("POST", "runs/log-inputs", `{"run_id":"`+run+`","datasets":[`+input("train", "d1", "training")+`]}`) // again: nothing new
	s.ok("POST", "runs/log-inputs", `{"run_id":"`+run+`","datasets":[`+input("train", "d2", "eval")+`]}`)
	ins := get(s.getRun(run), "inputs", "dataset_inputs").([]any)
	if len(ins) != 2 || get(ins[0], "dataset", "digest") != "d1" || get(ins[1], "dataset", "digest") != "d2" {
		t.Fatalf("dataset inputs %v", ins)
	}
	if kvs(get(ins[1], "tags"))["mlflow.data.context"] != "eval" {
		t.Errorf("context of the second: %v", ins[1])
	}
	r, err := s.st.Run(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Datasets map[string]datasetEntry `json:"datasets"`
	}
	json.Unmarshal(r.Summary, &sum)
	if sum.Datasets["train"].Digest != "d1" || sum.Datasets["train@d2"].Tags["context"] != "eval" {
		t.Errorf("summary %s", r.Summary)
	}
	if code, _ := s.call("POST", "runs/log-inputs", `{"run_id":"`+run+`","datasets":[{"dataset":{"name":"x"}}]}`); code != 400 {
		t.Errorf("dataset without digest: %d, want 400", code)
	}
}

func TestLoggedModels(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	out := s.ok("POST", "logged-models", `{"experiment_id":"0","name":"net","source_run_id":"`+run+`",`+
		`"params":[{"key":"lr","value":"0.1"}],"tags":[{"key":"mlflow.flavor","value":"pytorch"}]}`)
	id := get(out, "model", "info", "model_id").(string)
	uri := get(out, "model", "info", "artifact_uri").(string)
	if !strings.HasPrefix(id, "m-") || uri != "mlflow-artifacts:/0/"+run+"/artifacts/models/"+id ||
		get(out, "model", "info", "status") != "LOGGED_MODEL_PENDING" {
		t.Fatalf("created model %v", out)
	}
	// The client uploads the files through the artifacts API.
	s.ok("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/"+run+"/artifacts/models/"+id+"/MLmodel", "flavors: {}\n")
	s.ok("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/"+run+"/artifacts/models/"+id+"/data/model.pth", "weights")
	s.ok("PATCH", "logged-models/"+id+"/tags", `{"tags":[{"key":"stage","value":"dev"}]}`)
	s.ok("POST", "logged-models/"+id+"/params", `{"params":[{"key":"epochs","value":"3"}]}`)
	fin := s.ok("PATCH", "logged-models/"+id, `{"model_id":"`+id+`","status":"LOGGED_MODEL_READY"}`)
	if get(fin, "model", "info", "status") != "LOGGED_MODEL_READY" {
		t.Errorf("finalized: %v", fin)
	}
	s.ok("PATCH", "logged-models/"+id, `{"model_id":"`+id+`","status":2}`) // again: registered once
	m := s.ok("GET", "logged-models/"+id, "")
	if p := kvs(get(m, "model", "data", "params")); p["lr"] != "0.1" || p["epochs"] != "3" {
		t.Errorf("params %v", p)
	}
	if tags := kvs(get(m, "model", "info", "tags")); tags["stage"] != "dev" || tags["mlflow.flavor"] != "pytorch" {
		t.Errorf("tags %v", tags)
	}
	arts, err := s.st.Artifacts(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	var models int
	for _, a := range arts {
		if a.Kind == "model" {
			models++
			if a.Path != "artifacts/models/"+id || a.Size != int64(len("flavors: {}\n")+len("weights")) || a.Metadata["mlflow_model_id"] != id {
				t.Errorf("model artifact %+v", a)
			}
		}
	}
	if models != 1 {
		t.Errorf("%d artifacts of kind model, want 1: %+v", models, arts)
	}
	list := s.ok("GET", "logged-models/"+id+"/artifacts/directories", "")
	if files := list["files"].([]any); len(files) != 2 || get(files[0], "path") != "MLmodel" || get(files[1], "is_dir") != true {
		t.Errorf("listing %v", list)
	}
	found := s.ok("POST", "logged-models/search", `{"experiment_ids":["0"],"filter":"name = 'net'"}`)
	if ms := found["models"].([]any); len(ms) != 1 || get(ms[0], "info", "model_id") != id {
		t.Errorf("search %v", found)
	}
	if ms := s.ok("POST", "logged-models/search", `{"experiment_ids":["0"],"filter":"name = 'other'"}`)["models"].([]any); len(ms) != 0 {
		t.Errorf("search for another name: %v", ms)
	}
	s.ok("POST", "runs/outputs", `{"run_id":"`+run+`","models":[{"model_id":"`+id+`","step":0}]}`)
	s.ok("DELETE", "logged-models/"+id+"/tags/stage", "")
	s.ok("DELETE", "logged-models/"+id, "")
	if code, _ := s.call("GET", "logged-models/"+id, ""); code != 404 {
		t.Errorf("deleted model: %d, want 404", code)
	}
	s.ok("GET", "logged-models/"+id+"?allow_deleted=true", "")
	if _, err := os.Stat(s.home + "/mlflow/models/" + id + ".json"); err != nil {
		t.Error(err)
	}

	for name, body := range map[string]string{
		"no run":           `{"experiment_id":"0","name":"x"}`,
		"unknown run":      `{"experiment_id":"0","source_run_id":"nope"}`,
		"bad tag":          `{"experiment_id":"0","source_run_id":"` + run + `","tags":[{"key":"../x","value":"1"}]}`,
		"wrong experiment": `{"experiment_id":"7","source_run_id":"` + run + `"}`,
	} {
		if code, _ := s.call("POST", "logged-models", body); code != 400 && code != 404 {
			t.Errorf("%s: %d, want 400 or 404", name, code)
		}
	}
	if code, _ := s.call("GET", "logged-models/m-nope", ""); code != 404 {
		t.Errorf("unknown model: %d", code)
	}
}
