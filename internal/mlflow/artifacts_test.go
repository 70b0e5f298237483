package mlflow

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfs"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// TestArtifactLinks: symbolic links in a run's artifacts/ that lead out of
// it are refused, with an MLflow error, for download, listing and upload;
// nothing outside the folder is read, listed or written.
func TestArtifactLinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	s := newServer(t)
	run := s.createRun("0", "")
	base := "/api/2.0/mlflow-artifacts/artifacts/0/" + run + "/artifacts/"
	s.ok("PUT", base+"ok.txt", "fine")
	runDir := filepath.Join(s.home, "runs", run)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"passwd": "/etc/passwd", "etc": "/etc", "out": outside, "runlog": "../run.log", "alias": "ok.txt",
	} {
		if err := os.Symlink(target, filepath.Join(runDir, "artifacts", link)); err != nil {
			t.Fatal(err)
		}
	}
	list := "/api/2.0/mlflow-artifacts/artifacts?path=0/" + run + "/artifacts"
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"download through a file link", "GET", base + "passwd", "", 403, codePermission},
		{"download through a folder link", "GET", base + "etc/passwd", "", 403, codePermission},
		{"download of a link into the run folder", "GET", base + "runlog", "", 403, codePermission},
		{"download with ..", "GET", base + "../run.log", "", 400, codeInvalidParameter},
		{"list a folder link", "GET", list + "/etc", "", 403, codePermission},
		{"list through a folder link", "GET", list + "/out", "", 403, codePermission},
		{"list with ..", "GET", list + "/..", "", 400, codeInvalidParameter},
		{"tracking list of a folder link", "GET", TrackingPrefix + "artifacts/list?run_id=" + run + "&path=etc", "", 403, codePermission},
		{"tracking list with ..", "GET", TrackingPrefix + "artifacts/list?run_id=" + run + "&path=../..", "", 400, codeInvalidParameter},
		{"upload through a folder link", "PUT", base + "out/planted.txt", "x", 403, codePermission},
		{"upload into a new folder through a link", "PUT", base + "out/new/planted.txt", "x", 403, codePermission},
		{"upload through /etc", "PUT", base + "etc/runlog-planted", "x", 403, codePermission},
		{"upload with ..", "PUT", base + "../planted.txt", "x", 400, codeInvalidParameter},
		{"download of a link that stays inside", "GET", base + "alias", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			s.h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, body))
			if rec.Code != tt.status {
				t.Fatalf("status %d %s; want %d", rec.Code, rec.Body, tt.status)
			}
			if tt.code == "" {
				return
			}
			var e apiError
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != tt.code || e.Message == "" {
				t.Errorf("body %s (%v); want MLflow error %s", rec.Body, err, tt.code)
			}
			if strings.Contains(rec.Body.String(), "root:") {
				t.Errorf("the answer leaks a file outside the run: %s", rec.Body)
			}
		})
	}
	for _, p := range []string{filepath.Join(outside, "planted.txt"), filepath.Join(outside, "new"), "/etc/runlog-planted", filepath.Join(runDir, "planted.txt")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
	// The listing leaves out the links that lead out.
	files := s.ok("GET", list, "")["files"].([]any)
	var names []string
	for _, f := range files {
		names = append(names, get(f, "path").(string))
	}
	if got := strings.Join(names, " "); got != "alias ok.txt" {
		t.Errorf("listing %q; want %q", got, "alias ok.txt")
	}
}

// TestArtifactServedInert: an uploaded HTML or SVG file comes back as an
// attachment under CSP sandbox, never as a page of the server's origin.
func TestArtifactServedInert(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	base := "/api/2.0/mlflow-artifacts/artifacts/0/" + run + "/artifacts/"
	tests := []struct {
		name, ctype string
		inline      bool
	}{
		{"report.html", "text/html; charset=utf-8", false},
		{"plot.svg", "image/svg+xml", false},
		{"page.htm", "text/html; charset=utf-8", false},
		{"model.pkl", "", false},
		{"curve.png", "image/png", true},
		{"notes.txt", "text/plain; charset=utf-8", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.ok("PUT", base+tt.name, "<script>fetch('/api/2.0/mlflow/runs/search')</script>")
			rec := httptest.NewRecorder()
			s.h.ServeHTTP(rec, httptest.NewRequest("GET", base+tt.name, nil))
			h := rec.Header()
			if rec.Code != 200 || (tt.ctype != "" && h.Get("Content-Type") != tt.ctype) {
				t.Errorf("%d %q", rec.Code, h.Get("Content-Type"))
			}
			if h.Get("Content-Security-Policy") != runfs.CSP || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("CSP %q, X-Content-Type-Options %q", h.Get("Content-Security-Policy"), h.Get("X-Content-Type-Options"))
			}
			if cd := h.Get("Content-Disposition"); tt.inline != (cd == "") || !tt.inline && !strings.HasPrefix(cd, "attachment") {
				t.Errorf("Content-Disposition %q; inline %v", cd, tt.inline)
			}
		})
	}
}

// TestArtifactUploadStreams: an upload is not held to the JSON body limit,
// lands whole with its sha256 recorded, is bounded by MaxArtifactBytes,
// and a Range request reads part of it.
func TestArtifactUploadStreams(t *testing.T) {
	home := t.TempDir()
	st, err := sqlite.Open(filepath.Join(home, "runlog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const limit = maxBody + 1<<20
	h := NewHandler(st, home, Options{MaxArtifactBytes: limit})
	s := &server{t: t, home: home, st: st, h: h}
	run := s.createRun("0", "")
	base := "/api/2.0/mlflow-artifacts/artifacts/0/" + run + "/artifacts/"

	data := bytes.Repeat([]byte("0123456789abcdef"), (maxBody+1024)/16) // over the JSON limit
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("PUT", base+"ckpt/model.bin", bytes.NewReader(data)))
	if rec.Code != 200 || rec.Body.String() != "{}" {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	sum := sha256.Sum256(data)
	arts, err := st.Artifacts(t.Context(), run)
	if err != nil || len(arts) != 1 || arts[0].SHA256 != hex.EncodeToString(sum[:]) || arts[0].Size != int64(len(data)) {
		t.Errorf("artifact records %+v, %v", arts, err)
	}
	req := httptest.NewRequest("GET", base+"ckpt/model.bin", nil)
	req.Header.Set("Range", "bytes=16-31")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusPartialContent || rec.Body.String() != "0123456789abcdef" {
		t.Errorf("range: %d %q", rec.Code, rec.Body)
	}

	if bl, ok := h.(interface{ BodyLimit(*http.Request) int64 }); !ok ||
		bl.BodyLimit(httptest.NewRequest("PUT", base+"x", nil)) != limit ||
		bl.BodyLimit(httptest.NewRequest("POST", TrackingPrefix+"runs/log-batch", nil)) != 0 {
		t.Errorf("the handler does not declare its upload limit to the server")
	}
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(make([]byte, limit+1))
		if chunked {
			body = io.MultiReader(body) // no Content-Length
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("PUT", base+"huge.bin", body))
		var e apiError
		json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusRequestEntityTooLarge || e.Code != codeTooLarge {
			t.Errorf("over the limit (chunked %v): %d %s", chunked, rec.Code, rec.Body)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "runs", run, "artifacts", "huge.bin")); err == nil {
		t.Error("an upload over the limit was kept")
	}
	entries, _ := os.ReadDir(filepath.Join(home, "runs", run, "artifacts"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}

// TestMultipartUnsupported: MLflow's multipart upload is answered as
// MLflow's server answers it over a local store, so that the client falls
// back to one PUT.
func TestMultipartUnsupported(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	for _, op := range []string{"create", "complete", "abort"} {
		code, out := s.call("POST", "/api/2.0/mlflow-artifacts/mpu/"+op+"/0/"+run+"/artifacts", `{"path":"/tmp/model.bin","num_parts":3}`)
		msg, _ := out["message"].(string)
		if code != http.StatusNotImplemented || out["error_code"] != codeNotImplemented || !strings.HasPrefix(msg, unsupportedMultipart) {
			t.Errorf("mpu/%s: %d %v", op, code, out)
		}
	}
}

// TestListArtifactRoot: "." and "" name the artifact root, in both APIs.
func TestListArtifactRoot(t *testing.T) {
	s := newServer(t)
	run := s.createRun("0", "")
	s.ok("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/"+run+"/artifacts/a/b.txt", "b")
	s.ok("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/"+run+"/artifacts/c.txt", "c")
	for _, p := range []string{"", ".", "./"} {
		files := s.ok("GET", "artifacts/list?run_id="+run+"&path="+p, "")["files"].([]any)
		if len(files) != 2 || get(files[0], "path") != "a" || get(files[1], "path") != "c.txt" {
			t.Errorf("artifacts/list path %q: %v", p, files)
		}
		files = s.ok("GET", "/api/2.0/mlflow-artifacts/artifacts?path=0/"+run+"/artifacts/"+p, "")["files"].([]any)
		if len(files) != 2 {
			t.Errorf("mlflow-artifacts list path %q: %v", p, files)
		}
	}
	files := s.ok("GET", "artifacts/list?run_id="+run+"&path=a/", "")["files"].([]any)
	if len(files) != 1 || get(files[0], "path") != "a/b.txt" {
		t.Errorf("artifacts/list path a/: %v", files)
	}
	// download_artifacts(run_id, ".") asks for <root>/./a and <root>/./c.txt.
	files = s.ok("GET", "/api/2.0/mlflow-artifacts/artifacts?path=0/"+run+"/artifacts/./a", "")["files"].([]any)
	if len(files) != 1 || get(files[0], "path") != "b.txt" {
		t.Errorf("mlflow-artifacts list path ./a: %v", files)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/2.0/mlflow-artifacts/artifacts/0/"+run+"/artifacts/./c.txt", nil))
	if rec.Code != 200 || rec.Body.String() != "c" {
		t.Errorf("download of ./c.txt: %d %q", rec.Code, rec.Body)
	}
	// A run with no artifacts lists none.
	other := s.createRun("0", "")
	if files := s.ok("GET", "artifacts/list?run_id="+other+"&path=.", "")["files"].([]any); len(files) != 0 {
		t.Errorf("empty run: %v", files)
	}
}
