package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/store"
)

func TestToken(t *testing.T) {
	home, _ := seedHome(t)
	// Off loopback a token is required; the test listener is on
	// 127.0.0.1, but the server believes it listens everywhere.
	_, ts := newTestServer(t, home, Options{Addr: "0.0.0.0:7707", Token: "s3cret-token"})
	bearer := map[string]string{"Authorization": "Bearer s3cret-token"}
	runScenarios(t, ts.URL, []scenario{
		{name: "no token", url: "/api/v1/runs", status: 401, absent: []string{"sweep-a"}},
		{name: "wrong token", url: "/api/v1/runs", headers: map[string]string{"Authorization": "Bearer s3cret-tokeN"}, status: 401},
		{name: "a prefix of the token", url: "/api/v1/runs", headers: map[string]string{"Authorization": "Bearer s3cret"}, status: 401},
		{name: "not bearer", url: "/api/v1/runs", headers: map[string]string{"Authorization": "Basic czNjcmV0LXRva2Vu"}, status: 401},
		{name: "bearer", url: "/api/v1/runs", headers: bearer, contains: []string{"sweep-a"}},
		{name: "events need it too", url: "/api/v1/events", status: 401},
		{name: "ingest needs it too", method: "POST", url: "/api/v1/ingest/abc/run.log?offset=0", status: 401},
		{name: "a foreign Host is fine off loopback", url: "/api/v1/health", headers: map[string]string{"Host": "runlog.example.org", "Authorization": bearer["Authorization"]}},
		{name: "wrong login", url: "/login?token=nope", status: 401},
		{name: "the UI page needs no token", url: "/"},
	})
	t.Run("login cookie", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.Get(ts.URL + "/login?token=s3cret-token")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request.URL.Path != "/" {
			t.Errorf("login led to %s", resp.Request.URL)
		}
		cookie := resp.Request.Header.Get("Cookie")
		if !strings.Contains(cookie, "runlog_token=") {
			t.Fatalf("no cookie after login: %q", cookie)
		}
		resp, err = c.Get(ts.URL + "/api/v1/runs")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("sweep-a")) {
			t.Errorf("with the login cookie: %d %.200s", resp.StatusCode, body)
		}
	})
}

func TestTokenOnLoopback(t *testing.T) {
	home, _ := seedHome(t)
	_, ts := newTestServer(t, home, Options{Token: "tok"})
	runScenarios(t, ts.URL, []scenario{
		{name: "a token given is required on loopback too", url: "/api/v1/runs", status: 401},
		{name: "with it", url: "/api/v1/runs", headers: map[string]string{"Authorization": "Bearer tok"}},
	})
}

func TestRequestChecks(t *testing.T) {
	home, _ := seedHome(t)
	_, ts := newTestServer(t, home, Options{MaxBody: 1024})
	runScenarios(t, ts.URL, []scenario{
		{name: "foreign Host on a loopback server (DNS rebinding)", url: "/api/v1/runs", headers: map[string]string{"Host": "evil.example:7707"}, status: 403},
		{name: "foreign Host, UI", url: "/", headers: map[string]string{"Host": "evil.example"}, status: 403},
		{name: "localhost", url: "/api/v1/health", headers: map[string]string{"Host": "localhost:7707"}},
		{name: "[::1]", url: "/api/v1/health", headers: map[string]string{"Host": "[::1]:7707"}},
		{name: "POST without X-Runlog-Client", method: "POST", url: "/api/v1/ingest/abc/run.log?offset=0",
			headers: map[string]string{"X-Runlog-Client": ""}, status: 403, contains: []string{"X-Runlog-Client"}},
		{name: "cross-origin POST", method: "POST", url: "/api/v1/ingest/abc/run.log?offset=0",
			headers: map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, status: 403},
		{name: "oversize body", method: "POST", url: "/api/v1/ingest/abc/run.log?offset=0", body: make([]byte, 2048), status: 413},
		{name: "no CORS", url: "/api/v1/health", check: func(t *testing.T, _ []byte) {}},
		{name: "wrong method", method: "DELETE", url: "/", headers: map[string]string{"X-Runlog-Client": "t"}, status: 405},
	})
	t.Run("oversize body without a length", func(t *testing.T) {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/ingest/abc/run.log?offset=0", io.MultiReader(bytes.NewReader(make([]byte, 4096))))
		req.ContentLength = -1 // chunked
		req.Header.Set("X-Runlog-Client", "test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
	})
	t.Run("headers", func(t *testing.T) {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/health", nil)
		req.Header.Set("Origin", "http://evil.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("CORS header %s: %s", k, h.Get(k))
			}
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("security headers: %v", h)
		}
	})
}

func TestMounts(t *testing.T) {
	home, _ := seedHome(t)
	mlflow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("mlflow " + r.Method + " " + r.URL.Path))
	})
	_, ts := newTestServer(t, home, Options{Token: "tok", Mounts: func(store.Store) map[string]http.Handler {
		return map[string]http.Handler{"/api/2.0/mlflow/": mlflow, "/api/2.0/mlflow-artifacts": mlflow}
	}})
	auth := map[string]string{"Authorization": "Bearer tok"}
	runScenarios(t, ts.URL, []scenario{
		{name: "mounted", url: "/api/2.0/mlflow/experiments/search", headers: auth, contains: []string{"mlflow GET /api/2.0/mlflow/experiments/search"}},
		{name: "mounted without a trailing slash", url: "/api/2.0/mlflow-artifacts/artifacts/x", headers: auth, contains: []string{"mlflow GET"}},
		{name: "behind the token", url: "/api/2.0/mlflow/experiments/search", status: 401},
		{name: "POST without X-Runlog-Client is the mount's business", method: "POST", url: "/api/2.0/mlflow/runs/create",
			headers: map[string]string{"Authorization": "Bearer tok", "X-Runlog-Client": "", "Content-Type": "application/json"}, contains: []string{"mlflow POST"}},
		{name: "cross-origin POST refused", method: "POST", url: "/api/2.0/mlflow/runs/create",
			headers: map[string]string{"Authorization": "Bearer tok", "Sec-Fetch-Site": "cross-site"}, status: 403},
	})
}
