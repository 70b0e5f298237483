package runfs

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"page.html":         "<script>fetch('/api/v1/runs')</script>",
		"pic.svg":           `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`,
		"pic.png":           "\x89PNG",
		"notes.txt":         "hello world",
		"train.log":         "step 1",
		"data.json":         `{"a":1}`,
		"model.bin":         "\x00\x01",
		"doc.xhtml":         "<html/>",
		"weird name é.html": "<b>x</b>",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tests := []struct {
		name       string
		attach     bool
		rng        string
		wantType   string
		wantInline bool
		wantStatus int
		wantBody   string
	}{
		{name: "page.html", wantType: "text/html; charset=utf-8"},
		{name: "pic.svg", wantType: "image/svg+xml"},
		{name: "doc.xhtml", wantType: "application/xhtml+xml"},
		{name: "weird name é.html", wantType: "text/html; charset=utf-8"},
		{name: "model.bin", wantType: "application/octet-stream"},
		{name: "pic.png", wantType: "image/png", wantInline: true},
		{name: "notes.txt", wantType: "text/plain; charset=utf-8", wantInline: true},
		{name: "train.log", wantType: "text/plain; charset=utf-8", wantInline: true},
		{name: "data.json", wantType: "application/json", wantInline: true},
		{name: "notes.txt", attach: true, wantType: "text/plain; charset=utf-8"},
		{name: "notes.txt", rng: "bytes=6-", wantType: "text/plain; charset=utf-8", wantInline: true, wantStatus: http.StatusPartialContent, wantBody: "world"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/f", nil)
			if tt.rng != "" {
				req.Header.Set("Range", tt.rng)
			}
			rec := httptest.NewRecorder()
			if err := d.Serve(rec, req, tt.name, tt.attach); err != nil {
				t.Fatal(err)
			}
			h := rec.Result().Header
			if got := h.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q; want %q", got, tt.wantType)
			}
			if h.Get("Content-Security-Policy") != CSP || !strings.HasPrefix(CSP, "sandbox") {
				t.Errorf("Content-Security-Policy = %q", h.Get("Content-Security-Policy"))
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", h.Get("X-Content-Type-Options"))
			}
			cd := h.Get("Content-Disposition")
			if inline := cd == ""; inline != tt.wantInline || (!inline && !strings.HasPrefix(cd, "attachment")) {
				t.Errorf("Content-Disposition = %q; want inline %v", cd, tt.wantInline)
			}
			status, body := http.StatusOK, files[tt.name]
			if tt.wantStatus != 0 {
				status, body = tt.wantStatus, tt.wantBody
			}
			if rec.Code != status || rec.Body.String() != body {
				t.Errorf("got %d %q; want %d %q", rec.Code, rec.Body.String(), status, body)
			}
		})
	}
}

func TestServeErrors(t *testing.T) {
	t.Parallel()
	_, run := fixture(t)
	a := artifacts(t, run)
	for name, want := range map[string]error{
		"missing": fs.ErrNotExist, "sub": ErrNotFile, "passwd": ErrOutside, "../run.log": ErrOutside, "etc/passwd": ErrOutside,
	} {
		rec := httptest.NewRecorder()
		err := a.Serve(rec, httptest.NewRequest(http.MethodGet, "/f", nil), name, false)
		if !errors.Is(err, want) {
			t.Errorf("Serve(%q) = %v; want %v", name, err, want)
		}
		if rec.Body.Len() != 0 || len(rec.Result().Header) != 0 {
			t.Errorf("Serve(%q) wrote before failing: %v %q", name, rec.Result().Header, rec.Body)
		}
	}
}

// TestServeObject: a file from object storage is sent with the same
// headers as one from a run folder, answers If-None-Match and HEAD, and a
// body that fails half-way cuts the connection instead of ending.
func TestServeObject(t *testing.T) {
	const etag = `"abc"`
	for _, c := range []struct {
		name, method, inm string
		body              io.Reader
		status            int
		want              string
		aborted           bool
	}{
		{name: "a.png", method: "GET", body: strings.NewReader("png"), status: 200, want: "png"},
		{name: "page.html", method: "GET", body: strings.NewReader("<script>"), status: 200, want: "<script>"},
		{name: "a.png", method: "HEAD", body: strings.NewReader("png"), status: 200},
		{name: "a.png", method: "GET", inm: etag, body: strings.NewReader("png"), status: 304},
		{name: "a.png", method: "GET", body: io.MultiReader(strings.NewReader("pn"), iotest.ErrReader(errors.New("checksum"))), status: 200, aborted: true},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(c.method, "/f", nil)
		if c.inm != "" {
			req.Header.Set("If-None-Match", c.inm)
		}
		aborted := func() (aborted bool) {
			defer func() {
				if p := recover(); p != nil {
					aborted = p == http.ErrAbortHandler
				}
			}()
			ServeObject(rec, req, c.name, false, 3, etag, c.body)
			return false
		}()
		h := rec.Header()
		if rec.Code != c.status || aborted != c.aborted || (!aborted && rec.Body.String() != c.want) {
			t.Errorf("%s %s: %d %q aborted %v, want %d %q aborted %v", c.method, c.name, rec.Code, rec.Body, aborted, c.status, c.want, c.aborted)
		}
		if h.Get("Content-Security-Policy") != CSP || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") != etag {
			t.Errorf("%s %s: headers %v", c.method, c.name, h)
		}
		if attach := strings.HasPrefix(h.Get("Content-Disposition"), "attachment"); attach != (c.name == "page.html") {
			t.Errorf("%s: Content-Disposition %q", c.name, h.Get("Content-Disposition"))
		}
	}
}
