package server

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/annotate"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

// TestManage changes runs through the API, request after request on one
// server: every answer is what the run detail then says, and every change
// lies in the run folder, so that a server started on a store made again
// from the folders sees it too.
func TestManage(t *testing.T) {
	home, ids := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	sweep := ids["sweep-a"]
	ann := "/api/v1/runs/" + sweep + "/annotate"
	js := map[string]string{"Content-Type": "application/json"}
	post := func(name, url, body string, status int, contains ...string) scenario {
		sc := scenario{name: name, method: "POST", url: url, headers: js, status: status, contains: contains}
		if body != "" {
			sc.body = []byte(body)
		}
		return sc
	}
	detail := func(check func(t *testing.T, d map[string]any)) func(*testing.T, []byte) {
		return func(t *testing.T, body []byte) {
			var d map[string]any
			if err := json.Unmarshal(body, &d); err != nil {
				t.Fatal(err)
			}
			check(t, d)
		}
	}
	tagsOf := func(d map[string]any) string {
		var out []string
		for _, x := range d["tags"].([]any) {
			out = append(out, x.(string))
		}
		return strings.Join(out, ",")
	}
	rename := post("rename", ann, `{"name": " sweep-b "}`, 200, `"name":"sweep-b"`, `"series":[`)
	rename.check = detail(func(t *testing.T, d map[string]any) {
		if d["id"] != sweep || d["name"] != "sweep-b" {
			t.Errorf("renamed: id %v name %v", d["id"], d["name"])
		}
	})
	setTags := post("set the tags", ann, `{"tags": ["good", "best", "baseline"]}`, 200)
	setTags.check = detail(func(t *testing.T, d map[string]any) {
		if got := tagsOf(d); got != "good,best,baseline" {
			t.Errorf("tags %s", got)
		}
	})
	changeTags := post("add and remove tags", ann, `{"add_tags": ["x"], "remove_tags": ["best"]}`, 200)
	changeTags.check = detail(func(t *testing.T, d map[string]any) {
		if got := tagsOf(d); got != "good,baseline,x" {
			t.Errorf("tags %s", got)
		}
	})
	runScenarios(t, ts.URL, []scenario{
		rename,
		{name: "found by its new name", url: "/api/v1/runs/sweep-b", contains: []string{sweep}},
		setTags,
		changeTags,
		post("notes and hypothesis", ann, `{"notes": "<script>alert(1)</script> spikes at 500", "hypothesis": "lr too high"}`, 200,
			`"notes":"\u003cscript\u003ealert(1)\u003c/script\u003e spikes at 500"`, `"hypothesis":"lr too high"`),
		post("archive", ann, `{"archived": true}`, 200, `"archived":true`),
		{name: "archived, the run says", url: "/api/v1/runs?archived=true", contains: []string{sweep}},
		{name: "archived runs leave the list", url: "/api/v1/runs", absent: []string{sweep}},
		post("unarchive", ann, `{"archived": false}`, 200),
		{name: "back in the list", url: "/api/v1/runs", contains: []string{sweep}},
		post("a change of nothing writes nothing", ann, `{"name": "sweep-b"}`, 200, `"name":"sweep-b"`),

		post("no body", ann, "", 400, "not the JSON expected"),
		post("bad JSON", ann, `{"name": `, 400, "not the JSON expected"),
		post("two values", ann, `{"name": "a"} {}`, 400, "more than one"),
		post("an unknown field", ann, `{"nmae": "a"}`, 400, "unknown field"),
		post("a field of the wrong type", ann, `{"tags": "a"}`, 400),
		post("nothing to change", ann, `{}`, 400, "nothing to change"),
		post("an empty name", ann, `{"name": "  "}`, 400, "empty"),
		post("a name runfmt refuses", ann, `{"name": "a\nb"}`, 400, "invalid value"),
		post("a name too long", ann, `{"name": "`+strings.Repeat("n", 300)+`"}`, 400, "limit"),
		post("an empty tag", ann, `{"add_tags": [""]}`, 400, "empty tag"),
		post("tags and add_tags", ann, `{"tags": ["a"], "add_tags": ["b"]}`, 400, "not both"),
		post("notes too long", ann, `{"notes": "`+strings.Repeat("x", 70000)+`"}`, 400, "limit"),
		post("an unknown run", "/api/v1/runs/nosuchrun/annotate", `{"name": "a"}`, 404),
		{name: "not JSON", method: "POST", url: ann, body: []byte(`{"name": "a"}`), headers: map[string]string{"Content-Type": "text/plain"}, status: 415},
		{name: "no content type", method: "POST", url: ann, body: []byte(`{"name": "a"}`), status: 415},
		{name: "GET is no route", url: ann, status: 404},

		post("trash", "/api/v1/runs/"+sweep+"/trash", "", 200, `"id":"`+sweep+`"`, `"name":"sweep-b"`, `"by":"runlog ui@`),
		{name: "gone from the list", url: "/api/v1/runs", absent: []string{sweep}},
		{name: "gone", url: "/api/v1/runs/" + sweep, status: 404},
		post("trash twice", "/api/v1/runs/"+sweep+"/trash", "", 404),
		post("restore", "/api/v1/trash/"+sweep+"/restore", "", 200, `"name":"sweep-b"`, `"notes":`),
		{name: "back", url: "/api/v1/runs", contains: []string{sweep}},
		post("restore twice", "/api/v1/trash/"+sweep+"/restore", "", 404, "not in the trash"),
		post("trash with a body", "/api/v1/runs/"+sweep+"/trash", `{"force": false}`, 200),
		post("restore by name", "/api/v1/trash/sweep-b/restore", "", 200, sweep),
		{name: "trash, a body not JSON", method: "POST", url: "/api/v1/runs/" + sweep + "/trash", body: []byte(`{}`), headers: map[string]string{"Content-Type": "text/plain"}, status: 415},
		post("trash, bad JSON", "/api/v1/runs/"+sweep+"/trash", `{"force": 1}`, 400),
		post("trash an unknown run", "/api/v1/runs/nosuchrun/trash", "", 404),
		post("restore an unknown run", "/api/v1/trash/nosuchrun/restore", "", 404),
	})

	// The changes are in the run folder: a store made again from the
	// folders holds them.
	recs := readFolderLog(t, filepath.Join(layout.RunDir(home, sweep), annotate.Log))
	if recs < 7 {
		t.Errorf("%s holds %d records", annotate.Log, recs)
	}
	home2 := t.TempDir()
	if err := os.Rename(layout.RunDir(home, sweep), layout.RunDir(home2, sweep)); err != nil {
		os.MkdirAll(filepath.Join(home2, layout.RunsDir), 0o755)
		if err := os.Rename(layout.RunDir(home, sweep), layout.RunDir(home2, sweep)); err != nil {
			t.Fatal(err)
		}
	}
	_, ts2 := newTestServer(t, home2, Options{})
	runScenarios(t, ts2.URL, []scenario{
		{name: "a new store", url: "/api/v1/runs/" + sweep, contains: []string{`"name":"sweep-b"`, `"hypothesis":"lr too high"`, `"archived":false`, "spikes at 500"},
			check: detail(func(t *testing.T, d map[string]any) {
				if got := tagsOf(d); got != "good,baseline,x" {
					t.Errorf("tags %s", got)
				}
			})},
	})
}

// readFolderLog returns how many records the log at path holds.
func readFolderLog(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := runfmt.NewReader(bytes.NewReader(data), path)
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			return n
		}
		n++
	}
}

// TestTrashRunning: a running run goes to the trash only when forced.
func TestTrashRunning(t *testing.T) {
	home, _ := seedHome(t)
	r, err := runlog.Init(runlog.Options{Home: home, Name: "live", DisableGit: true, URL: "-"})
	if err != nil {
		t.Fatal(err)
	}
	r.LogStep(0, map[string]float64{"train_loss": 1})
	defer r.Finish(0)
	_, ts := newTestServer(t, home, Options{Now: time.Now})
	js := map[string]string{"Content-Type": "application/json"}
	url := "/api/v1/runs/" + r.ID() + "/trash"
	runScenarios(t, ts.URL, []scenario{
		{name: "refused", method: "POST", url: url, status: 409, contains: []string{"still running", "force"}},
		{name: "forced", method: "POST", url: url, headers: js, body: []byte(`{"force": true}`), contains: []string{`"status":"running"`}},
	})
}
