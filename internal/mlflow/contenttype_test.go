package mlflow

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// jsonPost returns a POST of body to path, declared JSON as the mlflow
// client declares it.
func jsonPost(path string, body io.Reader) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, body)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// TestRequireJSON: a POST must declare a JSON body, as MLflow's server
// requires (400 INVALID_PARAMETER_VALUE, MLflow's message); a page of
// another site could send text/plain or a form without asking. GETs and
// artifact uploads (PUT, any bytes) are not concerned.
func TestRequireJSON(t *testing.T) {
	s := newServer(t)
	const body = `{"name":"ct"}`
	for _, tt := range []struct {
		name, method, path, ctype string
		body                      string
		code                      int
		msg                       string
	}{
		{"application/json", "POST", "experiments/create", "application/json", body, 200, ""},
		{"with a charset", "POST", "experiments/search", "application/json; charset=utf-8", `{}`, 200, ""},
		{"in upper case", "POST", "experiments/search", "Application/JSON", `{}`, 200, ""},
		{"missing", "POST", "experiments/search", "", `{}`, 400, "Bad Request. Content-Type header is missing."},
		{"text/plain", "POST", "experiments/create", "text/plain", body, 400, "Bad Request. Content-Type must be one of ['application/json']."},
		{"text/plain with a charset", "POST", "runs/log-batch", "text/plain;charset=UTF-8", `{}`, 400, "Content-Type must be one of"},
		{"a form", "POST", "experiments/create", "application/x-www-form-urlencoded", "name=ct", 400, "Content-Type must be one of"},
		{"multipart", "POST", "experiments/create", "multipart/form-data; boundary=x", body, 400, "Content-Type must be one of"},
		{"json-ish", "POST", "experiments/create", "application/jsonx", body, 400, "Content-Type must be one of"},
		{"unparseable", "POST", "experiments/create", "application/json; charset", body, 400, "Content-Type must be one of"},
		{"a GET needs none", "GET", "experiments/search?max_results=1", "", "", 200, ""},
		{"an unknown endpoint is still 404", "POST", "nope", "text/plain", body, 404, "No API endpoint"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader
			if tt.body != "" {
				r = strings.NewReader(tt.body)
			}
			req := httptest.NewRequest(tt.method, TrackingPrefix+tt.path, r)
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			rec := httptest.NewRecorder()
			s.h.ServeHTTP(rec, req)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.msg) {
				t.Fatalf("%d %s, want %d %q", rec.Code, rec.Body, tt.code, tt.msg)
			}
			if tt.code == 400 && !strings.Contains(rec.Body.String(), `"error_code":"INVALID_PARAMETER_VALUE"`) {
				t.Errorf("error code: %s", rec.Body)
			}
		})
	}
	// An artifact upload is any bytes, whatever it declares.
	run := s.ok("POST", "runs/create", `{"experiment_id":"0"}`)["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	req := httptest.NewRequest("PUT", ArtifactsPrefix+"artifacts/0/"+run+"/artifacts/notes.txt", strings.NewReader("hello"))
	req.Header.Set("Content-Type", "text/plain")
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("artifact upload as text/plain: %d %s", rec.Code, rec.Body)
	}
}
