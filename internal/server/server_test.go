package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/layout"
)

// The seeded home: the two run-log fixtures of internal/runfmt and runs
// written with the Go client.
const (
	fixtureBasic  = "k3v9x2ab" // baseline-17m: failed, NaN and infinities, a checkpoint, an alert
	fixtureResume = "r7m2q4zz" // resumed and rewound
	xssName       = `<img src=x onerror=alert(1)>`
	xssNotes      = `<b>bold</b><script>alert("notes")</script>`
)

// seedHome returns a home holding the fixtures and two runs written with
// the Go client: "sweep-a" (1,000 steps of train_loss with a spike at step
// 500, val_loss every 100, a checkpoint, a training.log and a symbolic
// link that leads out of its folder) and a run with HTML in its name and
// notes. ids maps names to run ids.
func seedHome(t testing.TB) (home string, ids map[string]string) {
	t.Helper()
	home = t.TempDir()
	ids = map[string]string{"baseline-17m": fixtureBasic, "resume": fixtureResume}
	for id, name := range map[string]string{fixtureBasic: "basic", fixtureResume: "resume"} {
		data, err := os.ReadFile(filepath.Join("..", "runfmt", "testdata", name+".runlog"))
		if err != nil {
			t.Fatal(err)
		}
		dir := layout.RunDir(home, id)
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, layout.RunLogFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := runlog.Init(runlog.Options{Home: home, Project: "sweep", Name: "sweep-a", Tags: []string{"good"},
		Config: map[string]any{"lr": 0.01, "model": map[string]any{"d": 64}}, DisableGit: true, URL: "-"})
	if err != nil {
		t.Fatal(err)
	}
	for step := int64(0); step < 1000; step++ {
		loss := 4 - float64(step)*0.003
		if step == 500 {
			loss = 50 // a spike that downsampling must keep
		}
		vals := map[string]float64{"train_loss": loss}
		if step%100 == 0 {
			vals["val_loss"] = loss + 0.1
		}
		r.LogStep(step, vals)
	}
	r.SetSummary("final_note", "ok")
	ckpt := filepath.Join(r.Dir(), "checkpoints", "step_1.pt")
	os.MkdirAll(filepath.Dir(ckpt), 0o755)
	os.WriteFile(ckpt, []byte("weights"), 0o644)
	r.LogArtifact(ckpt, runlog.Artifact{Kind: "checkpoint", Step: 1, Metadata: map[string]any{"val_loss": 3.9}})
	var log strings.Builder
	for i := range 300 {
		log.WriteString("2026-01-02T03:04:05.000Z\tstdout\tline ")
		log.WriteString(strings.Repeat("x", i%7))
		log.WriteString("\n")
	}
	log.WriteString("2026-01-02T03:04:06.000Z\tstderr\t<script>alert(1)</script>\n")
	os.WriteFile(filepath.Join(r.Dir(), layout.TrainingLog), []byte(log.String()), 0o644)
	secret := filepath.Join(home, "secret.txt")
	os.WriteFile(secret, []byte("TOPSECRET"), 0o644)
	os.Symlink(secret, filepath.Join(r.Dir(), "escape"))
	if err := r.Finish(0); err != nil {
		t.Fatal(err)
	}
	ids["sweep-a"] = r.ID()

	x, err := runlog.Init(runlog.Options{Home: home, Project: "sweep", Name: xssName, Notes: xssNotes,
		Hypothesis: "<i>h</i>", Config: map[string]any{"lr": 0.001}, DisableGit: true, URL: "-"})
	if err != nil {
		t.Fatal(err)
	}
	x.LogStep(0, map[string]float64{"train_loss": 3})
	x.SetSummary("<b>key</b>", "<img src=y>")
	if err := x.Finish(0); err != nil {
		t.Fatal(err)
	}
	ids["xss"] = x.ID()
	return home, ids
}

// newTestServer serves home on a loopback test server.
func newTestServer(t testing.TB, home string, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	opts.Home = home
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	opts.Version = "test"
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}

// scenario is one request to the API and what its answer must be.
type scenario struct {
	name     string
	method   string // default GET
	url      string
	headers  map[string]string
	body     []byte
	status   int
	contains []string // in the body
	absent   []string // not in the body
	check    func(t *testing.T, body []byte)
}

func runScenarios(t *testing.T, base string, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			body := do(t, base, sc)
			for _, want := range sc.contains {
				if !bytes.Contains(body, []byte(want)) {
					t.Errorf("answer lacks %q:\n%.2000s", want, body)
				}
			}
			for _, bad := range sc.absent {
				if bytes.Contains(body, []byte(bad)) {
					t.Errorf("answer holds %q:\n%.2000s", bad, body)
				}
			}
			if sc.check != nil {
				sc.check(t, body)
			}
		})
	}
}

func do(t *testing.T, base string, sc scenario) []byte {
	t.Helper()
	method := sc.method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, base+sc.url, bytes.NewReader(sc.body))
	if err != nil {
		t.Fatal(err)
	}
	if sc.body == nil {
		req.Body = http.NoBody
	}
	if method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("X-Runlog-Client", "test/1")
	}
	for k, v := range sc.headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := sc.status
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d:\n%.1000s", method, sc.url, resp.StatusCode, want, body)
	}
	return body
}

// decode decodes a JSON answer.
func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %.300s: %v", body, err)
	}
	return v
}

func TestNewRefusesOpenAddressWithoutToken(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:7707", ":7707", "192.168.1.5:7707", "[::]:7707"} {
		_, err := New(Options{Home: t.TempDir(), Addr: addr})
		if err == nil || !strings.Contains(err.Error(), "token") {
			t.Errorf("New on %s without a token: %v; want a refusal", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:7707", "localhost:7707", "[::1]:7707", "127.0.0.2:0"} {
		if !IsLoopback(addr) {
			t.Errorf("IsLoopback(%q) = false", addr)
		}
	}
}

func TestHealth(t *testing.T) {
	home, _ := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	runScenarios(t, ts.URL, []scenario{
		{name: "health", url: "/api/v1/health", contains: []string{`"ok":true`, `"version":"test"`, `"runs":4`}},
		{name: "unknown endpoint", url: "/api/v1/nothing", status: 404, contains: []string{`"error"`}},
	})
}
