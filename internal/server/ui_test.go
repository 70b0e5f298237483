package server

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestUIBuilt(t *testing.T) {
	home, _ := seedHome(t)
	ui := fstest.MapFS{
		"index.html":      {Data: []byte("<!doctype html><title>runlog UI</title>")},
		"assets/app.js":   {Data: []byte("console.log(1)")},
		"favicon.svg":     {Data: []byte("<svg/>")},
		"assets/sub/x.js": {Data: []byte("x")},
	}
	_, ts := newTestServer(t, home, Options{UI: ui})
	runScenarios(t, ts.URL, []scenario{
		{name: "index", url: "/", contains: []string{"runlog UI"}},
		{name: "an asset", url: "/assets/app.js", contains: []string{"console.log"}},
		{name: "a UI route", url: "/runs/abc?x=step", contains: []string{"runlog UI"}},
		{name: "a run id with a dot", url: "/runs/my.run", contains: []string{"runlog UI"}},
		{name: "a missing asset", url: "/assets/missing.js", status: 404},
		{name: "a folder of assets", url: "/assets/sub", status: 404},
		{name: "API paths are not the UI's", url: "/api/v2/x", status: 404, contains: []string{`"error"`}},
	})
	resp, err := http.Get(ts.URL + "/runs/abc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	resp, err = http.Get(ts.URL + "/assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("Cache-Control of an asset: %q", cc)
	}
}

func TestUINotBuilt(t *testing.T) {
	home := filepath.Join(t.TempDir(), `<script>alert("home")</script>`)
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Skip("file system refuses the name:", err)
	}
	_, ts := newTestServer(t, home, Options{})
	runScenarios(t, ts.URL, []scenario{
		{name: "how to build", url: "/", contains: []string{"npm ci", "npm run build", "scripts/demo.sh", "&lt;script&gt;alert(&#34;home&#34;)&lt;/script&gt;"},
			absent: []string{`<script>alert`}},
		{name: "any path", url: "/runs/x", contains: []string{"npm ci"}},
	})
}
