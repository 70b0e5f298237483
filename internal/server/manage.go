package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runlog/runlog/internal/annotate"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
	"github.com/runlog/runlog/internal/trash"
)

// The requests of this file change runs, as `runlog rename`, `tag`,
// `note`, `archive`, `rm` and `restore` do, and through the same packages:
// a change is an annotate record appended to the run folder's
// annotate.Log, or the run folder moved to or from the trash. None writes
// the store: each indexes the home at once, as the periodic indexer would,
// and answers what the store then holds. On a team server (team.go) the
// record is appended to the run's annotate.Log stream in PostgreSQL, and
// the trash is a table there.

// annotateRequest is the body of POST /api/v1/runs/{id}/annotate. Absent
// fields are left as they are; Tags replaces the tags, AddTags and
// RemoveTags change some.
type annotateRequest struct {
	Name       *string   `json:"name"`
	Tags       *[]string `json:"tags"`
	AddTags    []string  `json:"add_tags"`
	RemoveTags []string  `json:"remove_tags"`
	Notes      *string   `json:"notes"`
	Hypothesis *string   `json:"hypothesis"`
	Archived   *bool     `json:"archived"`
}

// annotateRun changes a run's name, tags, notes, hypothesis or archived
// state (POST /api/v1/runs/{id}/annotate) and answers its run detail.
func (s *Server) annotateRun(w http.ResponseWriter, r *http.Request) error {
	var req annotateRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	ctx := r.Context()
	run, err := s.resolve(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	a, err := req.record(run)
	if err != nil {
		return err
	}
	a.Time = runfmt.Seconds(s.opts.Now())
	if err := annotate.Check(a, run.Tags, run.Notes, run.Hypothesis); err != nil {
		return badRequest("%v", err)
	}
	if changes(a, run) {
		if err := s.writable(); err != nil {
			return err
		}
		switch {
		case s.team != nil:
			if err := s.teamAnnotate(ctx, run.ID, a); err != nil {
				return err
			}
			if run, err = s.db.Run(ctx, run.ID); err != nil {
				return err
			}
		case run.Path == "":
			return &httpError{http.StatusConflict, fmt.Sprintf("run %s has no folder in this home to write to", run.ID)}
		default:
			if err := annotate.Append(filepath.Join(run.Path, annotate.Log), run.ID, "runlog-ui/"+s.opts.Version, a); err != nil {
				return fmt.Errorf("annotate run %s: %w", run.ID, err)
			}
			if run, err = s.reindex(ctx, run.ID, run.Path); err != nil {
				return err
			}
		}
	}
	return s.writeDetail(w, r, run, store.SeriesQuery{Limit: store.DefaultSeriesLimit})
}

// record returns the annotate record that makes the change req asks of
// run.
func (req *annotateRequest) record(run store.Run) (runfmt.Annotate, error) {
	a := runfmt.Annotate{AddTags: req.AddTags, RemoveTags: req.RemoveTags, Archived: req.Archived}
	if req.Tags != nil {
		if len(req.AddTags) > 0 || len(req.RemoveTags) > 0 {
			return a, badRequest("give tags, or add_tags and remove_tags, not both")
		}
		want := *req.Tags
		for _, t := range run.Tags {
			if !slices.Contains(want, t) {
				a.RemoveTags = append(a.RemoveTags, t)
			}
		}
		for _, t := range want {
			if !slices.Contains(run.Tags, t) && !slices.Contains(a.AddTags, t) {
				a.AddTags = append(a.AddTags, t)
			}
		}
	}
	if req.Name != nil {
		a.Name = strings.TrimSpace(*req.Name)
		if a.Name == "" {
			return a, badRequest("name: give a name, not an empty one")
		}
	}
	for _, f := range []struct {
		in  *string
		out **string
	}{{req.Notes, &a.Notes}, {req.Hypothesis, &a.Hypothesis}} {
		if f.in != nil {
			text := strings.TrimSpace(*f.in)
			*f.out = &text
		}
	}
	if req.Name == nil && req.Tags == nil && req.AddTags == nil && req.RemoveTags == nil &&
		req.Notes == nil && req.Hypothesis == nil && req.Archived == nil {
		return a, badRequest("nothing to change: give name, tags, add_tags, remove_tags, notes, hypothesis or archived")
	}
	return a, nil
}

// changes reports whether a changes anything of run, so that a request
// that changes nothing writes nothing.
func changes(a runfmt.Annotate, run store.Run) bool {
	tags, notes, hyp := a.Apply(run.Tags, run.Notes, run.Hypothesis)
	return a.Name != "" && a.Name != run.Name || !slices.Equal(tags, run.Tags) || notes != run.Notes ||
		hyp != run.Hypothesis || a.Archived != nil && *a.Archived != run.Archived
}

// trashRun moves a run to the trash (POST /api/v1/runs/{id}/trash), as
// `runlog rm` does, and answers what the trash keeps of it. A running run
// is refused unless the body says {"force": true}: its process would go on
// writing into the folder in the trash.
func (s *Server) trashRun(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Force bool `json:"force"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		return err
	}
	ctx := r.Context()
	run, err := s.resolve(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	now := s.opts.Now()
	status := summary.Status(&run, now)
	if status == runfmt.StatusRunning && !req.Force {
		return &httpError{http.StatusConflict, fmt.Sprintf("run %s is still running: stop it first, or send {\"force\": true} to move it to the trash while it writes", run.ID)}
	}
	if err := s.writable(); err != nil {
		return err
	}
	host, _ := os.Hostname()
	info := trash.Info{ID: run.ID, Name: run.Name, Project: run.Project, Status: status,
		Removed: runfmt.Seconds(now), By: "runlog ui@" + host}
	if s.team != nil {
		info.By = "runlog server@" + host
		if err := s.teamTrash(ctx, info); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, info)
		return nil
	}
	if err := trash.Move(s.home, info); err != nil {
		return err
	}
	if _, err := s.index(ctx, s.warns); err != nil {
		return fmt.Errorf("moved run %s to the trash, but indexing failed: %w", run.ID, err)
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// restoreRun brings a run back from the trash (POST
// /api/v1/trash/{id}/restore), as `runlog restore` does, and answers its
// run detail. The run is named by its id, a unique id prefix or its name.
func (s *Server) restoreRun(w http.ResponseWriter, r *http.Request) error {
	if err := s.writable(); err != nil {
		return err
	}
	ctx := r.Context()
	list := func() ([]trash.Info, error) { return trash.List(s.home) }
	if s.team != nil {
		list = func() ([]trash.Info, error) { return s.teamTrashList(ctx) }
	}
	all, err := list()
	if err != nil {
		return err
	}
	info, err := trash.Find(all, r.PathValue("id"))
	if err != nil && !errors.Is(err, trash.ErrNotFound) {
		return badRequest("%v", err) // a name that several runs in the trash share
	}
	if err != nil {
		return err
	}
	var run store.Run
	if s.team != nil {
		if err := s.teamRestore(ctx, info.ID); err != nil {
			return err
		}
		run, err = s.db.Run(ctx, info.ID)
	} else {
		var dir string
		if dir, err = trash.Restore(s.home, info.ID); err == nil {
			run, err = s.reindex(ctx, info.ID, dir)
		}
	}
	if err != nil {
		return err
	}
	return s.writeDetail(w, r, run, store.SeriesQuery{Limit: store.DefaultSeriesLimit})
}

// writable refuses a change while the store is read-only: the run folder
// would change, but the server could not index it.
func (s *Server) writable() error {
	if s.db.ReadOnly() {
		return &httpError{http.StatusServiceUnavailable, "the server's home is read-only"}
	}
	return nil
}

// reindex indexes the run folder dir of run id after a request changed
// it, then the home, so that caches and live views learn of it at once,
// and returns the run as the store now holds it. The folder is indexed
// first because the home's indexing looks for new attached logs (the
// first annotate.Log of a run) only in runs whose run.log grew.
func (s *Server) reindex(ctx context.Context, id, dir string) (store.Run, error) {
	s.indexing.Lock()
	defer s.indexing.Unlock()
	_, err := ingest.Run(ctx, s.indexStore, dir, ingest.Options{Warn: s.warns.warn})
	if err == nil {
		_, err = s.indexLocked(ctx, s.warns)
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("run %s was changed, but indexing failed: %w", id, err)
	}
	return s.db.Run(ctx, id)
}

// decodeJSON reads a request's JSON body into v: a body of type
// application/json holding one object with no unknown fields. optional
// allows an empty body, which leaves v as it is.
func decodeJSON(r *http.Request, v any, optional bool) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if optional && len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return &httpError{http.StatusUnsupportedMediaType, "send the body as Content-Type: application/json"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the body is not the JSON expected: %v", err)
	}
	if dec.More() {
		return badRequest("the body holds more than one JSON value")
	}
	return nil
}
