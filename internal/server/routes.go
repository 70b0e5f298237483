package server

import (
	"net/http"
	"strings"

	"github.com/runlog/runlog/internal/httpapi"
)

// routes declares the whole HTTP surface in one place. Every /api/v1
// handler returns its error, which fail answers.
func (s *Server) routes() http.Handler {
	api := http.NewServeMux()
	for _, rt := range []struct {
		pattern string
		handler httpapi.Handler
	}{
		{"GET /api/v1/health", s.health},
		{"GET /api/v1/runs", s.listRuns},
		{"GET /api/v1/runs/{id}", s.getRun},
		{"GET /api/v1/runs/{id}/series", s.getSeries},
		{"GET /api/v1/runs/{id}/artifacts", s.listArtifacts},
		{"GET /api/v1/runs/{id}/files/{path...}", s.getFile},
		{"PUT /api/v1/runs/{id}/files/{path...}", s.putFile},
		{"GET /api/v1/runs/{id}/logs", s.getLogs},
		{"GET /api/v1/runs/{id}/media", s.listMedia},
		{"GET /api/v1/runs/{id}/media/entries", s.mediaEntries},
		{"GET /api/v1/runs/{id}/histograms", s.histograms},
		{"GET /api/v1/text", s.texts},
		{"GET /api/v1/compare", s.compare},
		{"GET /api/v1/groups", s.groups},
		{"GET /api/v1/events", s.events},
		{"POST /api/v1/ingest/{id}/{stream}", s.ingest},
		{"POST /api/v1/runs/{id}/annotate", s.annotateRun},
		{"POST /api/v1/runs/{id}/trash", s.trashRun},
		{"POST /api/v1/trash/{id}/restore", s.restoreRun},
		{"GET /api/v1/session", s.getSession},
		{"POST /api/v1/session", s.createSession},
		{"DELETE /api/v1/session", s.logout},
		{"GET /api/v1/keys", s.listKeys},
		{"POST /api/v1/keys", s.addKey},
		{"POST /api/v1/keys/{key}/revoke", s.revokeKey},
		{"GET /api/v1/projects", s.listProjects},
		{"GET /api/v1/projects/{project}/members", s.listMembers},
		{"POST /api/v1/projects/{project}/members", s.setMember},
		{"GET /api/v1/runs/{id}/creator", s.runCreator},
		{"GET /api/v1/users", s.listUsers},
		{"POST /api/v1/users", s.addUser},
		{"POST /api/v1/users/{user}", s.changeUser},
		{"POST /api/v1/projects", s.addProject},
		{"GET /api/v1/audit", s.auditLog},
		{"/api/", s.notFound},
	} {
		api.Handle(rt.pattern, s.guard(rt.pattern, httpapi.Handle(rt.handler, s.fail)))
	}

	mux := http.NewServeMux()
	mux.Handle("/api/", s.authorized(clientOnly(api)))
	var mounts map[string]http.Handler
	switch {
	case s.team != nil && s.opts.TeamMounts != nil:
		mounts = s.opts.TeamMounts(s.db, newMLflowTeam(s))
	case s.opts.Mounts != nil:
		mounts = s.opts.Mounts(s.db)
	}
	limits := map[string]BodyLimiter{"/api/v1/runs/": fileBodyLimit{}}
	for prefix, h := range mounts {
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if l, ok := h.(BodyLimiter); ok {
			limits[prefix] = l
		}
		mux.Handle(prefix, s.authorized(s.guardMount(h)))
	}
	mux.Handle("GET /login", httpapi.Handle(s.login, s.fail))
	mux.Handle("/", getOnly(s.ui()))
	return s.secure(mux, limits)
}

// notFound answers API paths that name nothing.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	return &httpError{http.StatusNotFound, "no such API endpoint: " + r.Method + " " + r.URL.Path}
}

// getOnly answers methods other than GET and HEAD with 405.
func getOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{r.Method + " is not allowed here"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
