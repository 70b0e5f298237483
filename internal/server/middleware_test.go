package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/store"
)

func TestToken(t *testing.T) {
	home, _ := seedHome(t)
	notes := []byte("uploaded notes\n")
	// Off loopback a token is required; the test listener is on
	// 127.0.0.1, but the server believes it listens everywhere.
	_, ts := newTestServer(t, home, Options{Addr: "0.0.0.0:7707", Token: "s3cret-token-0123"})
	bearer := map[string]string{"Authorization": "Bearer s3cret-token-0123"}
	auth := func(v string) map[string]string { return map[string]string{"Authorization": v} }
	js := map[string]string{"Content-Type": "application/json"}
	runScenarios(t, ts.URL, []scenario{
		{name: "no token", url: "/api/v1/runs", status: 401, absent: []string{"sweep-a"}},
		{name: "wrong token", url: "/api/v1/runs", headers: auth("Bearer s3cret-token-012X"), status: 401},
		{name: "a prefix of the token", url: "/api/v1/runs", headers: auth("Bearer s3cret"), status: 401},
		{name: "not bearer", url: "/api/v1/runs", headers: auth("Basic czNjcmV0LXRva2VuLTAxMjM="), status: 401},
		{name: "bearer", url: "/api/v1/runs", headers: bearer, contains: []string{"sweep-a"}},
		// RFC 7235: the scheme's name is case-insensitive.
		{name: "bearer in lower case", url: "/api/v1/runs", headers: auth("bearer s3cret-token-0123"), contains: []string{"sweep-a"}},
		{name: "BEARER in upper case", url: "/api/v1/runs", headers: auth("BEARER s3cret-token-0123"), contains: []string{"sweep-a"}},
		{name: "bEaReR, two spaces", url: "/api/v1/runs", headers: auth("bEaReR  s3cret-token-0123"), contains: []string{"sweep-a"}},
		{name: "the token is not case-insensitive", url: "/api/v1/runs", headers: auth("bearer S3CRET-TOKEN-0123"), status: 401},
		{name: "a scheme that only starts like Bearer", url: "/api/v1/runs", headers: auth("Bearerx s3cret-token-0123"), status: 401},
		{name: "the scheme alone", url: "/api/v1/runs", headers: auth("Bearer"), status: 401},
		{name: "the /api/v1 401 is runlog's format", url: "/api/v1/runs", status: 401,
			contains: []string{`"error":"missing or wrong token`}, absent: []string{"error_code"}},
		{name: "events need it too", url: "/api/v1/events", status: 401},
		{name: "groups need it too", url: "/api/v1/groups?runs=sweep-a&by=config.lr&keys=train_loss", status: 401, absent: []string{"sweep-a"}},
		{name: "groups with it", url: "/api/v1/groups?runs=sweep-a&by=config.lr&keys=train_loss", headers: bearer, contains: []string{`"label":"0.01"`}},
		{name: "media keys need it", url: "/api/v1/runs/" + fixtureBasic + "/media", status: 401},
		{name: "media entries need it", url: "/api/v1/runs/" + fixtureBasic + "/media/entries?key=sample", status: 401},
		{name: "histograms need it", url: "/api/v1/runs/" + fixtureBasic + "/histograms?key=h", status: 401},
		{name: "texts need it", url: "/api/v1/text?runs=sweep-a&key=sample", status: 401, absent: []string{"sweep-a"}},
		{name: "media keys with it", url: "/api/v1/runs/" + fixtureBasic + "/media", headers: bearer, contains: []string{`"keys":[]`}},
		{name: "media entries with it", url: "/api/v1/runs/" + fixtureBasic + "/media/entries?key=sample", headers: bearer, contains: []string{`"entries":[]`}},
		{name: "histograms with it", url: "/api/v1/runs/" + fixtureBasic + "/histograms?key=h", headers: bearer, contains: []string{`"total":0`}},
		{name: "texts with it", url: "/api/v1/text?runs=sweep-a&key=sample", headers: bearer, contains: []string{`"name":"sweep-a"`}},
		{name: "ingest needs it too", method: "POST", url: "/api/v1/ingest/abc/run.log?offset=0", status: 401},
		{name: "a foreign Host is fine off loopback", url: "/api/v1/health", headers: map[string]string{"Host": "runlog.example.org", "Authorization": bearer["Authorization"]}},
		{name: "wrong login", url: "/login?token=nope", status: 401},
		{name: "login with the token", url: "/login?token=s3cret-token-0123"},
		{name: "the UI page needs no token", url: "/"},
		// The requests that change runs: refused without the token, done
		// with it.
		{name: "annotate needs it", method: "POST", url: "/api/v1/runs/" + fixtureBasic + "/annotate", headers: js, body: []byte(`{"name": "x"}`), status: 401},
		{name: "trash needs it", method: "POST", url: "/api/v1/runs/" + fixtureResume + "/trash", status: 401},
		{name: "restore needs it", method: "POST", url: "/api/v1/trash/" + fixtureResume + "/restore", status: 401},
		{name: "annotate with the token", method: "POST", url: "/api/v1/runs/" + fixtureBasic + "/annotate", headers: withJSON(bearer), body: []byte(`{"name": "renamed"}`), contains: []string{`"name":"renamed"`}},
		{name: "trash with the token", method: "POST", url: "/api/v1/runs/" + fixtureResume + "/trash", headers: bearer, contains: []string{fixtureResume}},
		{name: "restore with the token", method: "POST", url: "/api/v1/trash/" + fixtureResume + "/restore", headers: bearer, contains: []string{fixtureResume}},
		{name: "file upload needs it", method: "PUT", url: "/api/v1/runs/" + fixtureBasic + "/files/artifacts/notes.txt",
			headers: map[string]string{SHA256Header: sha256Hex(notes)}, body: notes, status: 401},
		{name: "file upload with the token", method: "PUT", url: "/api/v1/runs/" + fixtureBasic + "/files/artifacts/notes.txt",
			headers: map[string]string{SHA256Header: sha256Hex(notes), "Authorization": bearer["Authorization"]}, body: notes,
			contains: []string{`"path":"artifacts/notes.txt"`, `"deduplicated":false`}},
		{name: "the uploaded file", url: "/api/v1/runs/" + fixtureBasic + "/files/artifacts/notes.txt", headers: bearer, contains: []string{string(notes)}},
	})
	t.Run("login cookie", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.Get(ts.URL + "/login?token=s3cret-token-0123")
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

// TestStrongToken: off loopback a token must have at least MinTokenLen
// characters; on loopback any token given is accepted.
func TestStrongToken(t *testing.T) {
	for _, tt := range []struct {
		addr, token string
		want        error
	}{
		{"0.0.0.0:7707", "", ErrTokenRequired},
		{"0.0.0.0:7707", "x", ErrWeakToken},
		{"192.0.2.1:7707", "0123456789abcde", ErrWeakToken},
		{":7707", "ééééééééééééééé", ErrWeakToken}, // 15 characters, 30 bytes
		{"0.0.0.0:7707", "0123456789abcdef", nil},
		{"127.0.0.1:0", "x", nil},
		{"localhost:0", "", nil},
	} {
		t.Run(tt.addr+" "+tt.token, func(t *testing.T) {
			s, err := New(Options{Home: t.TempDir(), Addr: tt.addr, Token: tt.token, Logf: t.Logf})
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("New: %v, want %v", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "openssl rand -hex 16") {
				t.Errorf("the error does not say how to make a token: %v", err)
			}
		})
	}
}

// TestLoginCookieSecure: the login cookie is Secure when the server says
// it is behind TLS, or is served over TLS itself; X-Forwarded-Proto alone
// changes nothing, since anyone can send it.
func TestLoginCookieSecure(t *testing.T) {
	home, _ := seedHome(t)
	noRedirect := func(c *http.Client) *http.Client {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c
	}
	for _, tt := range []struct {
		name      string
		behindTLS bool
		tls       bool
		header    map[string]string
		secure    bool
	}{
		{name: "plain HTTP", secure: false},
		{name: "X-Forwarded-Proto without BehindTLS", header: map[string]string{"X-Forwarded-Proto": "https"}, secure: false},
		{name: "BehindTLS", behindTLS: true, secure: true},
		{name: "served over TLS", tls: true, secure: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Options{Home: home, Addr: "127.0.0.1:0", Token: "tok", BehindTLS: tt.behindTLS, Logf: t.Logf})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var ts *httptest.Server
			if tt.tls {
				ts = httptest.NewTLSServer(s.Handler())
			} else {
				ts = httptest.NewServer(s.Handler())
			}
			defer ts.Close()
			req, _ := http.NewRequest("GET", ts.URL+"/login?token=tok", nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := noRedirect(ts.Client()).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			cookies := resp.Cookies()
			if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 || cookies[0].Name != tokenCookie {
				t.Fatalf("login: %d %v", resp.StatusCode, cookies)
			}
			if c := cookies[0]; c.Secure != tt.secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("cookie %s: Secure %v, want %v (HttpOnly %v, SameSite %v)", c.Raw, c.Secure, tt.secure, c.HttpOnly, c.SameSite)
			}
		})
	}
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
		// The requests that change runs, from a page of another site: by
		// Sec-Fetch-Site, by Origin alone (an older browser), and without
		// X-Runlog-Client.
		{name: "cross-site annotate", method: "POST", url: "/api/v1/runs/" + fixtureBasic + "/annotate", body: []byte(`{"name": "x"}`),
			headers: map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, status: 403},
		{name: "cross-origin annotate by Origin", method: "POST", url: "/api/v1/runs/" + fixtureBasic + "/annotate", body: []byte(`{"name": "x"}`),
			headers: map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, status: 403},
		{name: "cross-site trash", method: "POST", url: "/api/v1/runs/" + fixtureBasic + "/trash",
			headers: map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, status: 403},
		{name: "cross-origin trash by Origin", method: "POST", url: "/api/v1/runs/" + fixtureBasic + "/trash",
			headers: map[string]string{"Origin": "http://evil.example"}, status: 403},
		{name: "cross-site restore", method: "POST", url: "/api/v1/trash/" + fixtureBasic + "/restore",
			headers: map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, status: 403},
		{name: "annotate without X-Runlog-Client", method: "POST", url: "/api/v1/runs/" + fixtureBasic + "/annotate", body: []byte(`{"name": "x"}`),
			headers: map[string]string{"Content-Type": "application/json", "X-Runlog-Client": ""}, status: 403, contains: []string{"X-Runlog-Client"}},
		{name: "trash without X-Runlog-Client", method: "POST", url: "/api/v1/runs/" + fixtureBasic + "/trash",
			headers: map[string]string{"X-Runlog-Client": ""}, status: 403},
		{name: "restore without X-Runlog-Client", method: "POST", url: "/api/v1/trash/" + fixtureBasic + "/restore",
			headers: map[string]string{"X-Runlog-Client": ""}, status: 403},
		{name: "same-origin annotate", method: "POST", url: "/api/v1/runs/" + fixtureBasic + "/annotate", body: []byte(`{"archived": false}`),
			headers: map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}},
		{name: "oversize body", method: "POST", url: "/api/v1/ingest/abc/run.log?offset=0", body: make([]byte, 2048), status: 413},
		// File uploads are streamed, not held: MaxBody does not bound them.
		{name: "file upload over MaxBody", method: "PUT", url: "/api/v1/runs/" + fixtureBasic + "/files/checkpoints/zeros.pt",
			headers: map[string]string{SHA256Header: sha256Hex(make([]byte, 2048))}, body: make([]byte, 2048), contains: []string{`"size":2048`}},
		{name: "cross-site file upload", method: "PUT", url: "/api/v1/runs/" + fixtureBasic + "/files/artifacts/x.txt", body: []byte("x"),
			headers: map[string]string{SHA256Header: sha256Hex([]byte("x")), "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, status: 403},
		{name: "file upload without X-Runlog-Client", method: "PUT", url: "/api/v1/runs/" + fixtureBasic + "/files/artifacts/x.txt", body: []byte("x"),
			headers: map[string]string{SHA256Header: sha256Hex([]byte("x")), "X-Runlog-Client": ""}, status: 403, contains: []string{"X-Runlog-Client"}},
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
		// MLflow's client reads only MLflow's error form: given runlog's
		// it shows INTERNAL_ERROR instead of the reason.
		{name: "the MLflow 401 is MLflow's format", url: "/api/2.0/mlflow/experiments/search", status: 401,
			contains: []string{`"error_code":"UNAUTHENTICATED"`, `"message":"missing or wrong token`, "MLFLOW_TRACKING_TOKEN"}},
		{name: "artifacts 401, MLflow's format", method: "PUT", url: "/api/2.0/mlflow-artifacts/artifacts/x", body: []byte("data"), status: 401,
			contains: []string{`"error_code":"UNAUTHENTICATED"`}},
		{name: "wrong token, MLflow's format", url: "/api/2.0/mlflow/experiments/search", headers: map[string]string{"Authorization": "Bearer nope"}, status: 401,
			contains: []string{`"error_code":"UNAUTHENTICATED"`}},
		{name: "bearer in lower case on a mount", url: "/api/2.0/mlflow/experiments/search", headers: map[string]string{"Authorization": "bearer tok"}, contains: []string{"mlflow GET"}},
		{name: "cross-origin, MLflow's format", method: "POST", url: "/api/2.0/mlflow/runs/create",
			headers: map[string]string{"Authorization": "Bearer tok", "Sec-Fetch-Site": "cross-site"}, status: 403,
			contains: []string{`"error_code":"PERMISSION_DENIED"`}},
		{name: "the /api/v1 401 beside the mounts is runlog's format", url: "/api/v1/runs", status: 401,
			contains: []string{`"error":`}, absent: []string{"error_code"}},
		{name: "POST without X-Runlog-Client is the mount's business", method: "POST", url: "/api/2.0/mlflow/runs/create",
			headers: map[string]string{"Authorization": "Bearer tok", "X-Runlog-Client": "", "Content-Type": "application/json"}, contains: []string{"mlflow POST"}},
		{name: "cross-origin POST refused", method: "POST", url: "/api/2.0/mlflow/runs/create",
			headers: map[string]string{"Authorization": "Bearer tok", "Sec-Fetch-Site": "cross-site"}, status: 403},
	})
}

// TestErrorFormatByPath: the middleware answers under MLflow's paths in
// MLflow's error form, everywhere else in runlog's.
func TestErrorFormatByPath(t *testing.T) {
	for _, tt := range []struct {
		path   string
		mlflow bool
	}{
		{"/api/2.0/mlflow/runs/create", true},
		{"/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/x", true},
		{"/ajax-api/2.0/mlflow/experiments/search", true},
		{"/api/v1/runs", false},
		{"/api/2.0/mlflowx/runs", false},
		{"/login", false},
		{"/", false},
	} {
		if got := mlflowPath(tt.path); got != tt.mlflow {
			t.Errorf("mlflowPath(%q) = %v", tt.path, got)
		}
		rec := httptest.NewRecorder()
		refuse(rec, httptest.NewRequest("GET", tt.path, nil), http.StatusUnauthorized, "no")
		want := `{"error":"no"}`
		if tt.mlflow {
			want = `{"error_code":"UNAUTHENTICATED","message":"no"}`
		}
		if got := strings.TrimSpace(rec.Body.String()); rec.Code != 401 || got != want {
			t.Errorf("refuse %s: %d %s, want %s", tt.path, rec.Code, got, want)
		}
	}
}

// withJSON returns headers with Content-Type: application/json added.
func withJSON(h map[string]string) map[string]string {
	out := map[string]string{"Content-Type": "application/json"}
	for k, v := range h {
		out[k] = v
	}
	return out
}
