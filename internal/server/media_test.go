package server

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/layout"
)

const fixtureMedia = "m4d1a0zz" // the shared fixture of rich values

// mediaHome is a home with the media fixture and the files its records
// name: a PNG, a table and an HTML document with a script.
func mediaHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "runfmt", "testdata", "media.runlog"))
	if err != nil {
		t.Fatal(err)
	}
	dir := layout.RunDir(home, fixtureMedia)
	for name, content := range map[string]string{
		layout.RunLogFile:                                   string(data),
		"media/samples/800-3f2a9c0e1b4d5a6f.png":            "\x89PNG\r\n\x1a\nnot really",
		"media/val%2Ftable/800-9c1d2e3f4a5b6c7d.table.json": `{"columns":["prompt","sample","score"],"data":[["<script>alert(1)</script>","x",1]]}`,
		"media/%2E.%2Fx/900-0a1b2c3d4e5f6a7b.html":          "<script>alert(1)</script>",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

func TestMediaRoutes(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, mediaHome(t), Options{})
	base := "/api/v1/runs/" + fixtureMedia
	runScenarios(t, ts.URL, []scenario{
		{name: "keys", url: base + "/media", contains: []string{
			`{"key":"../x","kind":"html","count":1,"first_step":900,"last_step":900}`,
			`{"key":"grad_norm/layer0","kind":"histogram","count":1,"first_step":800,"last_step":800}`,
			`{"key":"sample","kind":"text","count":2,"first_step":800,"last_step":900}`,
			`"kind":"image"`, `"kind":"table"`}},
		{name: "a text at the nearest step before", url: base + "/media/entries?key=sample&step=850", contains: []string{
			`"step":800,"entries":[{"key":"sample","step":800`, `"kind":"text","text":"Once upon a time, \u003cscript\u003ealert(1)\u003c/script\u003e λ`},
			absent: []string{"<script>"}},
		{name: "nothing before the first step", url: base + "/media/entries?key=sample&step=10", contains: []string{`"step":null,"entries":[]`}},
		{name: "page by page", url: base + "/media/entries?key=sample&limit=1", contains: []string{`"next_from":801`}, absent: []string{`"step":900`}},
		{name: "the last page", url: base + "/media/entries?key=sample&from=801", contains: []string{`"step":900`}, absent: []string{"next_from", `"step":800`}},
		{name: "an image's file", url: base + "/media/entries?key=samples&step=800", contains: []string{
			`"path":"media/samples/800-3f2a9c0e1b4d5a6f.png"`, `"url":"/api/v1/runs/m4d1a0zz/files/media/samples/800-3f2a9c0e1b4d5a6f.png"`,
			`"width":256,"height":256,"caption":"epoch 3","index":0`}},
		{name: "a key with .. and /", url: base + "/media/entries?key=../x", contains: []string{`"url":"/api/v1/runs/m4d1a0zz/files/media/%252E.%252Fx/900-0a1b2c3d4e5f6a7b.html"`}},
		{name: "a table's columns", url: base + "/media/entries?key=val/table", contains: []string{`"rows":2,"columns":["prompt","sample","score"]`}},
		{name: "histograms", url: base + "/histograms?key=grad_norm/layer0", contains: []string{
			`{"key":"grad_norm/layer0","total":1,"histograms":[{"step":800,"time":1764201700.5,"edges":[0,0.25,0.5,0.75,1],"counts":[3,10,5,1],"nan":0,"inf":1,"ninf":0}]}`}},
		{name: "texts side by side", url: "/api/v1/text?runs=" + fixtureMedia + "&key=sample&step=850&metric=val_loss", contains: []string{
			`"runs":[{"id":"m4d1a0zz","name":"rich","step":800`, `"metric":{"step":800,"value":2.5}`}, absent: []string{"<script>"}},
		{name: "a run's last text", url: "/api/v1/text?runs=" + fixtureMedia + "&key=sample", contains: []string{`"step":900`, `"text":""`}},
		{name: "a run without the text", url: "/api/v1/text?runs=" + fixtureMedia + "&key=nope&step=5&metric=val_loss", contains: []string{`"step":null`}, absent: []string{`"metric":{`}},
		{name: "no key", url: base + "/media/entries", status: 400, contains: []string{"name the key"}},
		{name: "a bad step", url: base + "/media/entries?key=sample&step=x", status: 400, contains: []string{`step \"x\"`}},
		{name: "a bad limit", url: base + "/media/entries?key=sample&limit=5000", status: 400},
		{name: "too many histogram steps", url: base + "/histograms?key=h&steps=1", status: 400},
		{name: "text without runs", url: "/api/v1/text?key=sample", status: 400},
		{name: "an unknown run", url: "/api/v1/runs/nope/media", status: 404},
		{name: "text of an unknown run", url: "/api/v1/text?runs=nope&key=sample", status: 404},
	})
}

// TestMediaFilesServedSafely: an image is shown in place, HTML only as an
// attachment, both under CSP sandbox, through the one files route.
func TestMediaFilesServedSafely(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, mediaHome(t), Options{})
	var ans struct {
		Entries []struct{ URL string }
	}
	for _, tc := range []struct {
		key, ctype string
		attach     bool
	}{
		{"samples", "image/png", false},
		{"../x", "text/html", true},
	} {
		resp, err := http.Get(ts.URL + "/api/v1/runs/" + fixtureMedia + "/media/entries?key=" + tc.key)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if len(ans.Entries) != 1 {
			t.Fatalf("%s: %d entries", tc.key, len(ans.Entries))
		}
		resp, err = http.Get(ts.URL + ans.Entries[0].URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 200 || !strings.HasPrefix(h.Get("Content-Type"), tc.ctype) ||
			strings.HasPrefix(h.Get("Content-Disposition"), "attachment") != tc.attach ||
			!strings.HasPrefix(h.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("%s: %d, %q, disposition %q, CSP %q", tc.key, resp.StatusCode, h.Get("Content-Type"), h.Get("Content-Disposition"), h.Get("Content-Security-Policy"))
		}
	}
}
