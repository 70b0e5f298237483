package runfs

import (
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// inlineTypes are the content types a browser may show in place: it
// renders them without running anything. Every other file (HTML, SVG,
// XML, PDF, scripts, unknown types) is sent as an attachment, to be saved
// rather than rendered in the server's origin.
var inlineTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"text/plain": true, "text/csv": true, "application/json": true,
}

// CSP is the Content-Security-Policy of every file sent: even a file
// shown in place, or one a browser is made to render, runs in a sandbox
// of its own with no script, and loads nothing but images of this server.
const CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"

// ContentType returns the type a file is sent with, from its name: logs
// are plain text, unknown types application/octet-stream.
func ContentType(name string) string {
	if path.Ext(name) == ".log" {
		return "text/plain; charset=utf-8"
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// Inline reports whether a file of content type ctype may be shown in
// place by a browser.
func Inline(ctype string) bool {
	base, _, _ := strings.Cut(ctype, ";")
	return inlineTypes[strings.TrimSpace(strings.ToLower(base))]
}

// Serve sends the regular file name of d to a browser: with its content
// type, as an attachment unless Inline allows it in place and attach is
// false, under CSP and nosniff, with Range and conditional requests
// answered by http.ServeContent. The error of opening the file (wrapping
// fs.ErrNotExist, ErrOutside or ErrNotFile) is returned before anything
// is written, for the caller to answer in its API's form.
func (d *Dir) Serve(w http.ResponseWriter, r *http.Request, name string, attach bool) error {
	f, fi, err := d.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	setHeaders(w.Header(), name, attach)
	http.ServeContent(w, r, "", fi.ModTime(), f)
	return nil
}

// ServeObject sends a run file that is not in a run folder (the team
// server's object storage) the way Serve sends one that is: the same
// headers, its size, etag as ETag with If-None-Match answered 304, and
// HEAD answered without the body. body is read only after the status is
// sent; if it fails (a file that fails its check or stops half-way) the
// connection is cut, so that the file never looks whole.
func ServeObject(w http.ResponseWriter, r *http.Request, name string, attach bool, size int64, etag string, body io.Reader) {
	h := w.Header()
	setHeaders(h, name, attach)
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, body); err != nil {
		panic(http.ErrAbortHandler)
	}
}

// setHeaders sets the headers every run file is sent to a browser with:
// its content type, CSP sandbox, nosniff, and Content-Disposition
// attachment unless Inline allows it in place and attach is false. Serve
// and ServeObject use it, so that both send a file the same way.
func setHeaders(h http.Header, name string, attach bool) {
	ctype := ContentType(name)
	h.Set("Content-Type", ctype)
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	if attach || !Inline(ctype) {
		cd := mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(name)})
		if cd == "" { // a name FormatMediaType cannot quote
			cd = "attachment"
		}
		h.Set("Content-Disposition", cd)
	}
}
