package server

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// uiPolicy is the Content-Security-Policy of the UI's pages: scripts only
// from the server's own files, never inline, so that text that slipped
// into the page as markup still could not run.
const uiPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
	"font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// ui serves the built web UI: its files as they are, and index.html for
// every other path, which the UI routes itself. Without a build it serves
// a page that says how to make one.
func (s *Server) ui() http.Handler {
	ui := s.opts.UI
	if ui != nil {
		if _, err := fs.Stat(ui, "index.html"); err != nil {
			ui = nil
		}
	}
	if ui == nil {
		return http.HandlerFunc(s.notBuilt)
	}
	index, err := fs.ReadFile(ui, "index.html")
	if err != nil {
		return http.HandlerFunc(s.notBuilt)
	}
	started := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if fi, err := fs.Stat(ui, name); err == nil && !fi.IsDir() {
				if strings.HasPrefix(name, "assets/") { // content-hashed names
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				http.ServeFileFS(w, r, ui, name)
				return
			}
			if strings.HasPrefix(name, "assets/") {
				http.NotFound(w, r)
				return
			}
		}
		h := w.Header()
		h.Set("Content-Security-Policy", uiPolicy)
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Type", "text/html; charset=utf-8")
		http.ServeContent(w, r, "index.html", started, bytes.NewReader(index))
	})
}

var notBuiltPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>runlog</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#222}code,pre{background:#f3f3f3;padding:.1em .3em;border-radius:3px}pre{padding:.6em}</style>
</head>
<body>
<h1>runlog {{.Version}}</h1>
<p>The server is running, serving <code>{{.Home}}</code>, but this binary was built without the web UI.</p>
<p>Build the UI, then the binary, and start it again:</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build &amp;&amp; cd ..
go build -o bin/runlog ./cmd/runlog
bin/runlog ui</pre>
<p>or run <code>scripts/demo.sh</code>, which does all of it.</p>
<p>The JSON API works without the UI: <a href="/api/v1/runs">/api/v1/runs</a>, described in <code>docs/api/openapi.yaml</code>.</p>
</body>
</html>
`))

// notBuilt serves the page shown when the UI was not built.
func (s *Server) notBuilt(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	notBuiltPage.Execute(&b, struct{ Version, Home string }{s.opts.Version, s.home})
	h := w.Header()
	h.Set("Content-Security-Policy", uiPolicy)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}
