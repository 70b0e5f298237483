package server

import (
	"net/http"
	"strings"
	"testing"
)

func TestArtifactsAndFiles(t *testing.T) {
	home, ids := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	run := "/api/v1/runs/" + ids["sweep-a"]
	runScenarios(t, ts.URL, []scenario{
		{name: "artifacts", url: run + "/artifacts",
			contains: []string{`"path":"checkpoints/step_1.pt"`, `"kind":"checkpoint"`, `"superseded":false`, `"metadata":{"val_loss":3.9}`}},
		{name: "no artifacts", url: "/api/v1/runs/" + fixtureResume + "/artifacts", contains: []string{`[]`}},
		{name: "download a checkpoint", url: run + "/files/checkpoints/step_1.pt", contains: []string{"weights"}},
		{name: "training.log as text", url: run + "/files/training.log", contains: []string{"line x"}},
		{name: "missing file", url: run + "/files/checkpoints/none.pt", status: 404},
		{name: "a folder", url: run + "/files/checkpoints", status: 400},
		{name: "dot-dot", url: run + "/files/..%2F..%2Fsecret.txt", status: 400, absent: []string{"TOPSECRET"}},
		{name: "dot-dot inside", url: run + "/files/checkpoints%2F..%2F..%2Fsecret.txt", status: 400},
		{name: "absolute", url: run + "/files/%2Fetc%2Fpasswd", status: 400},
		{name: "symlink out of the folder", url: run + "/files/escape", status: 400, absent: []string{"TOPSECRET"}},
		{name: "backslash", url: run + "/files/..%5Csecret.txt", status: 400},
		{name: "unknown run", url: "/api/v1/runs/none/files/run.log", status: 404},
	})
	t.Run("headers", func(t *testing.T) {
		resp, err := http.Get(ts.URL + run + "/files/checkpoints/step_1.pt")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") ||
			h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("headers of a download: %v", h)
		}
		resp, err = http.Get(ts.URL + run + "/files/training.log")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Content-Disposition") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("headers of a log shown in place: %v", resp.Header)
		}
	})
}

func TestCheckRelPath(t *testing.T) {
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.", `a\b`, "a\x00b"} {
		if checkRelPath(p) == nil {
			t.Errorf("checkRelPath(%q) accepted", p)
		}
	}
	for _, p := range []string{"run.log", "checkpoints/step_1.pt", "a/b/c.png", "..a", "a..b"} {
		if err := checkRelPath(p); err != nil {
			t.Errorf("checkRelPath(%q): %v", p, err)
		}
	}
}
