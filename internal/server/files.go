package server

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfs"
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

// getFile sends a file of a run's folder
// (GET /api/v1/runs/{id}/files/{path}), from the home or the team
// server's bucket (runFiles), as runfs sends every file to a browser: as
// an attachment unless it is a type shown inertly (or always, with
// ?download), under CSP sandbox. The path is resolved inside the
// folder, which refuses "..", absolute paths and symbolic links that lead
// out of it.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	run, err := s.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	name := r.PathValue("path")
	if err := checkRelPath(name); err != nil {
		return err
	}
	err = s.files.serve(w, r, run, name, r.URL.Query().Has("download"))
	if errors.Is(err, fs.ErrNotExist) {
		return &httpError{http.StatusNotFound, "run " + run.ID + " has no file " + name}
	}
	return err // fail answers runfs's refusals
}

// checkRelPath refuses paths that are not plainly inside a folder
// (runfs.CheckName): empty, absolute, or with "..", "." or empty parts, or
// backslashes.
func checkRelPath(name string) error {
	if err := runfs.CheckName(name); err != nil {
		return badRequest("file path %q: give a path inside the run folder, without '..', '.' or empty parts", name)
	}
	return nil
}
