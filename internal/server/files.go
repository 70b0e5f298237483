package server

import (
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// artifactJSON is an artifact as the API shows it (Artifact in the OpenAPI
// file).
type artifactJSON struct {
	runfmt.Artifact
	Metadata   map[string]any `json:"metadata,omitempty"`
	Superseded bool           `json:"superseded"`
}

func artifactsJSON(arts []store.Artifact) []artifactJSON {
	out := make([]artifactJSON, 0, len(arts))
	for _, a := range arts {
		m, _ := runfmt.Finite(a.Metadata).(map[string]any)
		out = append(out, artifactJSON{a.Artifact, m, a.Superseded})
	}
	return out
}

// listArtifacts answers the files registered with a run
// (GET /api/v1/runs/{id}/artifacts).
func (s *Server) listArtifacts(w http.ResponseWriter, r *http.Request) error {
	run, err := s.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	arts, err := s.db.Artifacts(r.Context(), run.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, artifactsJSON(arts))
	return nil
}

// inlineTypes are the content types a browser may show in place; every
// other file is sent as an attachment, to be saved rather than rendered
// in the server's origin.
var inlineTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"text/plain": true, "text/csv": true, "application/json": true,
}

// getFile sends a file of a run's folder
// (GET /api/v1/runs/{id}/files/{path}). The path is resolved inside the
// folder with os.Root, which refuses "..", absolute paths and symbolic
// links that lead out of it.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	run, err := s.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	name := r.PathValue("path")
	if err := checkRelPath(name); err != nil {
		return err
	}
	if run.Path == "" {
		return &httpError{http.StatusNotFound, "run " + run.ID + " has no folder"}
	}
	root, err := os.OpenRoot(run.Path)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(name))
	if errors.Is(err, fs.ErrNotExist) {
		return &httpError{http.StatusNotFound, "run " + run.ID + " has no file " + name}
	}
	if err != nil {
		return badRequest("%s: not a file inside the run folder", name)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return badRequest("%s is not a file", name)
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Base(name) {
	case "training.log", "run.log":
		ctype = "text/plain; charset=utf-8"
	}
	if path.Ext(name) == ".log" {
		ctype = "text/plain; charset=utf-8"
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	// Even a file shown in place cannot run scripts in the server's origin.
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'")
	base, _, _ := strings.Cut(ctype, ";")
	if !inlineTypes[base] || r.URL.Query().Has("download") {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(name)}))
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
	return nil
}

// checkRelPath refuses paths that are not plainly inside a folder: empty,
// absolute, or with "..", "." or empty parts, or backslashes.
func checkRelPath(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return badRequest("file path %q: give a path relative to the run folder", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return badRequest("file path %q: paths outside the run folder are refused", name)
		}
	}
	return nil
}
