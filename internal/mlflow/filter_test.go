package mlflow

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestLike(t *testing.T) {
	tests := []struct {
		s, pattern string
		fold, want bool
	}{
		{"train_loss", "train%", false, true},
		{"train_loss", "%loss", false, true},
		{"train_loss", "%_l%", false, true},
		{"train_loss", "TRAIN%", false, false},
		{"train_loss", "TRAIN%", true, true},
		{"abc", "a_c", false, true},
		{"abc", "a_", false, false},
		{"", "%", false, true},
		{"λx", "_x", false, true},
		{"aXbXc", "a%b%c", false, true},
		{"abc", "abc%%", false, true},
	}
	for _, tt := range tests {
		if got := like(tt.s, tt.pattern, tt.fold); got != tt.want {
			t.Errorf("like(%q, %q, %v) = %v", tt.s, tt.pattern, tt.fold, got)
		}
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		filter string
		want   []clause
		bad    bool
	}{
		{filter: "metrics.loss < 2.5", want: []clause{{ident: ident{"metrics", "loss"}, op: "<", num: 2.5, str: "2.5", isNum: true}}},
		{filter: "metric.`val loss` >= -1e-3", want: []clause{{ident: ident{"metrics", "val loss"}, op: ">=", num: -1e-3, str: "-1e-3", isNum: true}}},
		{filter: `params.lr = "0.1" and tags."mlflow.runName" != 'it''s'`, want: []clause{
			{ident: ident{"params", "lr"}, op: "=", str: "0.1"},
			{ident: ident{"tags", "mlflow.runName"}, op: "!=", str: "it's"}}},
		{filter: "attributes.status IN ('FINISHED', 'FAILED')", want: []clause{{ident: ident{"attributes", "status"}, op: "IN", list: []string{"FINISHED", "FAILED"}}}},
		{filter: "run_name not like 'x%'", want: []clause{{ident: ident{"attributes", "run_name"}, op: "NOT LIKE", str: "x%"}}},
		{filter: "tags.t IS NOT NULL", want: []clause{{ident: ident{"tags", "t"}, op: "IS NOT NULL"}}},
		{filter: "metrics.loss", bad: true},
		{filter: "metrics.loss LIKE 'a'", bad: true},
		{filter: "params.lr < '1'", bad: true},
		{filter: "datasets.name = 'x'", bad: true},
		{filter: "nonsense = 1", bad: true},
		{filter: "params.a = 'x' AND", bad: true},
		{filter: "params.a = 'unterminated", bad: true},
	}
	for _, tt := range tests {
		got, err := parseFilter(tt.filter)
		if tt.bad {
			if err == nil {
				t.Errorf("parseFilter(%q) = %+v; want an error", tt.filter, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseFilter(%q) = %+v, %v; want %+v", tt.filter, got, err, tt.want)
		}
	}
}

// TestDecodeBatch checks the fast decoder of log-batch against
// encoding/json.
func TestDecodeBatch(t *testing.T) {
	bodies := []string{
		`{"run_id":"r","metrics":[{"key":"m","value":1.5,"timestamp":1764201600000,"step":3}]}`,
		`{"run_id": "r", "metrics": [{"key": "m", "value": "NaN", "timestamp": "1764201600000", "step": "3", "model_id": null}], "params": [], "tags": []}`,
		`{"run_uuid":"r","metrics":[{"key":"m\u00e9","value":"-Infinity","timestamp":1}],"params":[{"key":"a","value":"x\"y"}],"tags":[{"key":"t","value":""}]}`,
		`{"run_id":"r","extra":{"nested":[1,2,{"a":true}]},"metrics":null}`,
		` { "run_id" : "r" , "metrics" : [ ] } `,
	}
	for _, body := range bodies {
		var fast, slow batchRequest
		if !decodeBatch([]byte(body), &fast) {
			t.Errorf("decodeBatch refused %s", body)
			continue
		}
		if err := decodeJSON([]byte(body), &slow); err != nil {
			t.Fatal(err)
		}
		if slow.RunID == "" {
			var q runIDRequest
			json.Unmarshal([]byte(body), &q)
			slow.RunID = q.id()
		}
		if !equalBatch(fast, slow) {
			t.Errorf("%s: fast %+v, encoding/json %+v", body, fast, slow)
		}
	}
	for _, bad := range []string{`{"run_id":"r","metrics":[{"key":"m","value":1}`, `[]`, `{"metrics":[1]}`, `{"run_id":"r"} x`} {
		var q batchRequest
		if decodeBatch([]byte(bad), &q) {
			t.Errorf("decodeBatch accepted %s", bad)
		}
	}
}

func equalBatch(a, b batchRequest) bool {
	if len(a.Metrics) == 0 && len(b.Metrics) == 0 {
		a.Metrics, b.Metrics = nil, nil
	}
	if len(a.Params) == 0 && len(b.Params) == 0 {
		a.Params, b.Params = nil, nil
	}
	if len(a.Tags) == 0 && len(b.Tags) == 0 {
		a.Tags, b.Tags = nil, nil
	}
	for i := range a.Metrics {
		if i < len(b.Metrics) && a.Metrics[i].Value.v != a.Metrics[i].Value.v && b.Metrics[i].Value.v != b.Metrics[i].Value.v {
			a.Metrics[i].Value.v, b.Metrics[i].Value.v = 0, 0 // NaN
		}
	}
	return reflect.DeepEqual(a, b)
}

// FuzzDecodeBatch checks that whatever the fast decoder accepts, it reads
// as encoding/json does.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(`{"run_id":"r","metrics":[{"key":"m","value":1.5,"timestamp":1764201600000,"step":3}]}`)
	f.Add(`{"run_id":"r","params":[{"key":"a","value":"\u0041"}],"tags":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		var fast batchRequest
		if !decodeBatch([]byte(body), &fast) {
			return
		}
		var slow struct {
			batchRequest
			RunUUID string `json:"run_uuid"`
		}
		if err := json.Unmarshal([]byte(body), &slow); err != nil {
			t.Fatalf("decodeBatch accepted %q, which encoding/json refuses: %v", body, err)
		}
		if slow.RunID == "" {
			slow.RunID = slow.RunUUID
		}
		if !equalBatch(fast, slow.batchRequest) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", body, fast, slow.batchRequest)
		}
	})
}
