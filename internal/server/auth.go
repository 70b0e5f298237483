package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/accounts"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// Team mode: with Options.Accounts set, every request is made by a user,
// through an API key (Bearer, or as the password of basic auth), a
// password (basic auth, limited as logins are) or a browser session; each
// route says what it needs of that user (apiNeeds, mlflowNeed). Nothing
// about users is cached between requests, so a revoked key or a disabled
// user is refused by every replica at the next request.

// sessionCookie holds a browser's session token in team mode.
const sessionCookie = "runlog_session"

// need is what a route asks of the user of a request.
type need int

const (
	needNothing      need = iota // anyone, signed in or not (login, logout)
	needSignedIn                 // any user
	needReadList                 // any user; the list holds the runs it reads
	needReadRun                  // reads the run {id}
	needReadRefs                 // reads each run of ?runs=
	needIngest                   // writes to the run {id}, or to a new run's project
	needChangeRun                // changes the run {id}: its own as a writer, any as an admin
	needWriteRun                 // writes files to the run {id}, as needChangeRun, unaudited
	needProjectAdmin             // administers the project {project}
	needServerAdmin              // administers the server
)

// apiNeeds is what each route of routes.go needs; a route without a row
// stops the server from starting (guard), and the authorization matrix
// (auth_test.go) has a row for each.
var apiNeeds = map[string]need{
	"GET /api/v1/health":                      needSignedIn,
	"GET /api/v1/runs":                        needReadList,
	"GET /api/v1/runs/{id}":                   needReadRun,
	"GET /api/v1/runs/{id}/series":            needReadRun,
	"GET /api/v1/runs/{id}/artifacts":         needReadRun,
	"GET /api/v1/runs/{id}/files/{path...}":   needReadRun,
	"PUT /api/v1/runs/{id}/files/{path...}":   needWriteRun,
	"GET /api/v1/runs/{id}/logs":              needReadRun,
	"GET /api/v1/runs/{id}/media":             needReadRun,
	"GET /api/v1/runs/{id}/media/entries":     needReadRun,
	"GET /api/v1/runs/{id}/histograms":        needReadRun,
	"GET /api/v1/text":                        needReadRefs,
	"GET /api/v1/compare":                     needReadRefs,
	"GET /api/v1/groups":                      needReadRefs,
	"GET /api/v1/events":                      needSignedIn,
	"POST /api/v1/ingest/{id}/{stream}":       needIngest,
	"POST /api/v1/runs/{id}/annotate":         needChangeRun,
	"POST /api/v1/runs/{id}/trash":            needChangeRun,
	"POST /api/v1/trash/{id}/restore":         needChangeRun,
	"GET /api/v1/session":                     needNothing,
	"POST /api/v1/session":                    needNothing,
	"DELETE /api/v1/session":                  needNothing,
	"GET /api/v1/keys":                        needSignedIn,
	"POST /api/v1/keys":                       needSignedIn,
	"POST /api/v1/keys/{key}/revoke":          needSignedIn,
	"GET /api/v1/projects":                    needSignedIn,
	"GET /api/v1/projects/{project}/members":  needProjectAdmin,
	"POST /api/v1/projects/{project}/members": needProjectAdmin,
	"GET /api/v1/runs/{id}/creator":           needReadRun,
	"GET /api/v1/users":                       needServerAdmin,
	"POST /api/v1/users":                      needServerAdmin,
	"POST /api/v1/users/{user}":               needServerAdmin,
	"POST /api/v1/projects":                   needServerAdmin,
	"GET /api/v1/audit":                       needServerAdmin,
	"/api/":                                   needSignedIn,
}

type principalKey struct{}

// principalOf returns the user of a request in team mode, or nil.
func principalOf(r *http.Request) *accounts.Principal {
	p, _ := r.Context().Value(principalKey{}).(*accounts.Principal)
	return p
}

// remoteHost returns the address a request comes from, without its port.
func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// actor is the audit log's who and where of a request.
func actor(r *http.Request) accounts.Actor {
	a := accounts.Actor{Addr: remoteHost(r)}
	if p := principalOf(r); p != nil {
		a.Name = p.User.Name
		if p.Key != nil {
			a.Name += " (key " + p.Key.ID + ")"
		}
	}
	return a
}

// authenticate finds the user of every request in team mode and puts it
// in the request's context; the routes' guards refuse what it may not do.
// A credential that is sent and wrong is refused here, whatever the route.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.credential(r)
		switch {
		case errors.Is(err, accounts.ErrTooMany):
			w.Header().Set("Retry-After", "60")
			refuse(w, r, http.StatusTooManyRequests, err.Error())
			return
		case errors.Is(err, accounts.ErrBadCredential):
			w.Header().Set("WWW-Authenticate", `Bearer realm="runlog"`)
			refuse(w, r, http.StatusUnauthorized, "wrong, revoked or expired API key or password: make a new key with `runlog key add`")
			return
		case err != nil:
			s.fail(w, r, err)
			return
		}
		if p != nil {
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		}
		next.ServeHTTP(w, r)
	})
}

// credential returns the user that a request's Authorization header or
// session cookie names; nil, nil when it sends none. A session cookie
// that has expired counts as none, so that the login page still answers.
func (s *Server) credential(r *http.Request) (*accounts.Principal, error) {
	acc, ctx := s.opts.Accounts, r.Context()
	if a := r.Header.Get("Authorization"); a != "" {
		if key, ok := bearer(a); ok {
			return acc.Key(ctx, key)
		}
		name, secret, ok := r.BasicAuth()
		if !ok {
			return nil, accounts.ErrBadCredential
		}
		if strings.HasPrefix(secret, accounts.KeyPrefix) {
			p, err := acc.Key(ctx, secret)
			if err == nil && p.User.Name != name {
				return nil, accounts.ErrBadCredential
			}
			return p, err
		}
		u, delay, err := acc.Login(ctx, name, secret, remoteHost(r))
		if err != nil {
			wait(ctx, delay)
			return nil, err
		}
		return acc.UserPrincipal(ctx, u.Name)
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		p, err := acc.Session(ctx, c.Value)
		if errors.Is(err, accounts.ErrBadCredential) {
			return nil, nil
		}
		return p, err
	}
	return nil, nil
}

// wait sleeps for d or until ctx ends.
func wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// guard wraps the handler of one route of routes.go with what the route
// needs (apiNeeds) in team mode; without accounts it changes nothing. A
// route without a row in apiNeeds is a mistake caught at start.
func (s *Server) guard(pattern string, next http.Handler) http.Handler {
	n, ok := apiNeeds[pattern]
	if !ok {
		panic("server: route " + pattern + " has no row in apiNeeds (auth.go)")
	}
	if s.opts.Accounts == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r)
		if n == needNothing {
			next.ServeHTTP(w, r)
			return
		}
		if p == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="runlog"`)
			refuse(w, r, http.StatusUnauthorized, "sign in, or send an API key: Authorization: Bearer <key> ($RUNLOG_TOKEN)")
			return
		}
		after, err := s.allow(r, p, n)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if after == nil {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		if sw.code < 300 {
			if err := after(); err != nil {
				s.opts.Logf("runlog: %v", err)
			}
		}
	})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

var (
	errForbidden = &httpError{http.StatusForbidden, "you may not do this in this run's project: ask one of its admins for a role"}
	errNoRun     = &httpError{http.StatusNotFound, "no such run"}
)

// allow checks a request against its route's need. It returns what to do
// once the request succeeds (the audit log, a new run's creator), if
// anything.
func (s *Server) allow(r *http.Request, p *accounts.Principal, n need) (func() error, error) {
	ctx := r.Context()
	switch n {
	case needSignedIn:
		return nil, nil
	case needServerAdmin:
		if !p.User.Admin {
			return nil, &httpError{http.StatusForbidden, "only the server's admins may do this"}
		}
		return nil, nil
	case needProjectAdmin:
		if !p.CanManage(r.PathValue("project")) {
			return nil, &httpError{http.StatusForbidden, "only the project's admins may do this"}
		}
		return nil, nil
	case needReadList:
		if by := r.URL.Query().Get("created_by"); by != "" {
			ids, err := s.opts.Accounts.Store().RunsBy(ctx, by, maxCreatedBy)
			if err != nil {
				return nil, err
			}
			restrictList(r, "id", ids)
		}
		if !p.User.Admin {
			restrictList(r, "project", p.Readable())
		}
		return nil, nil
	case needReadRun:
		run, err := s.runOf(ctx, r.PathValue("id"))
		if err != nil || !p.CanRead(run.project) {
			return nil, errNoRun
		}
		return nil, nil
	case needReadRefs:
		for _, ref := range splitList(r.URL.Query()["runs"]) {
			run, err := s.runOf(ctx, ref)
			if err != nil || !p.CanRead(run.project) {
				return nil, &httpError{http.StatusNotFound, "no run " + strconv.Quote(ref)}
			}
		}
		return nil, nil
	case needChangeRun:
		run, err := s.runOf(ctx, r.PathValue("id"))
		if err != nil || !p.CanRead(run.project) {
			return nil, errNoRun
		}
		if !p.CanChangeRun(run.project, run.owner) {
			return nil, errForbidden
		}
		action := "run." + r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		detail := ""
		if action == "run.annotate" {
			detail = peekBody(r, 2048)
		}
		by := actor(r)
		return func() error { return s.opts.Accounts.Audit(context.WithoutCancel(ctx), by, action, run.id, detail) }, nil
	case needWriteRun:
		run, err := s.runOf(ctx, r.PathValue("id"))
		if err != nil || !p.CanRead(run.project) {
			return nil, errNoRun
		}
		if !p.CanChangeRun(run.project, run.owner) {
			return nil, errForbidden
		}
		return nil, nil
	case needIngest:
		return s.allowIngest(r, p)
	}
	return nil, fmt.Errorf("server: need %d has no rule", n)
}

// maxCreatedBy bounds the runs of one creator a list is limited to
// (?created_by=): the newest ones.
const maxCreatedBy = 10000

// restrictList limits a runs listing to the runs whose field (project or
// id) is one of values, by adding a condition to its query.
func restrictList(r *http.Request, field string, values []string) {
	var quoted []string
	for _, v := range values {
		quoted = append(quoted, strconv.Quote(v))
		if field == "project" && v == "default" {
			quoted = append(quoted, `""`)
		}
	}
	cond := "id in (\"\")" // none: no run
	if len(quoted) > 0 {
		cond = field + " in (" + strings.Join(quoted, ", ") + ")"
	}
	q := r.URL.Query()
	if old := strings.TrimSpace(q.Get("q")); old != "" {
		cond = "(" + old + ") and " + cond
	}
	q.Set("q", cond)
	r.URL.RawQuery = q.Encode()
}

// peekBody returns up to n bytes of a request's body and leaves the body
// whole for the handler.
func peekBody(r *http.Request, n int) string {
	if r.Body == nil {
		return ""
	}
	data, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(data), errReader{err}))
	if len(data) > n {
		data = data[:n]
	}
	return string(data)
}

// errReader ends a body read again with the error of the first read.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// runRef is what authorization knows of a run.
type runRef struct {
	id, project, owner string
}

// runOf returns the project and creator of a run named by id or name:
// the creator's record when the server made the run, else the store's.
func (s *Server) runOf(ctx context.Context, ref string) (runRef, error) {
	if o, err := s.opts.Accounts.Store().RunOwner(ctx, ref); err == nil {
		return runRef{id: o.Run, project: o.Project, owner: o.User}, nil
	} else if !errors.Is(err, accounts.ErrNotFound) {
		return runRef{}, err
	}
	id, err := s.db.Resolve(ctx, ref)
	var amb *store.AmbiguousError
	if errors.As(err, &amb) && amb.ByName {
		id, err = amb.IDs[0], nil
	}
	if err != nil {
		return runRef{}, err
	}
	if o, err := s.opts.Accounts.Store().RunOwner(ctx, id); err == nil {
		return runRef{id: id, project: o.Project, owner: o.User}, nil
	}
	run, err := s.db.Run(ctx, id)
	if err != nil {
		return runRef{}, err
	}
	return runRef{id: id, project: projectName(run.Project)}, nil
}

// projectName is a run's project as accounts name it: "default" for none.
func projectName(p string) string {
	if p == "" {
		return "default"
	}
	return p
}

// allowIngest lets a user append to a run it may change, or start a run
// in a project it writes to, whose creator it then becomes.
func (s *Server) allowIngest(r *http.Request, p *accounts.Principal) (func() error, error) {
	ctx, id := r.Context(), r.PathValue("id")
	if run, err := s.runOf(ctx, id); err == nil {
		if !p.CanRead(run.project) {
			return nil, errNoRun
		}
		if !p.CanChangeRun(run.project, run.owner) {
			return nil, errForbidden
		}
		return nil, nil
	}
	// A new run: its header, at the start of run.log, names its project.
	if r.PathValue("stream") != "run.log" || r.URL.Query().Get("offset") != "0" || r.Body == nil {
		if !p.Writes() {
			return nil, errForbidden
		}
		return nil, nil // the handler answers: the run is not there
	}
	head := peekBody(r, 64<<10)
	project, err := headerProject([]byte(head))
	if err != nil {
		if !p.Writes() {
			return nil, errForbidden
		}
		return nil, nil // the handler says what is wrong with the body
	}
	if !p.CanWrite(project) {
		return nil, &httpError{http.StatusForbidden, "you may not log runs to project " + strconv.Quote(project) + ": ask one of its admins for the writer role"}
	}
	by := actor(r)
	return func() error {
		ctx := context.WithoutCancel(ctx)
		if err := s.opts.Accounts.SetRunOwner(ctx, id, project, p.User.Name); err != nil {
			return err
		}
		return s.opts.Accounts.Audit(ctx, by, "run.create", id, "project="+project)
	}, nil
}

// headerProject returns the project of a run log's first record.
func headerProject(data []byte) (string, error) {
	rec, err := runfmt.NewReader(bytes.NewReader(data), "run.log").Next()
	if err != nil {
		return "", err
	}
	if rec.Type != runfmt.TypeHeader {
		return "", errors.New("the run log does not start with its header")
	}
	var h runfmt.Header
	if err := json.Unmarshal(rec.Payload, &h); err != nil {
		return "", err
	}
	return projectName(h.Project), nil
}

// guardMount wraps a mounted API (MLflow's) in team mode: each call is
// allowed by the run, experiment or artifact path it names (mlflowNeed).
func (s *Server) guardMount(h http.Handler) http.Handler {
	if s.opts.Accounts == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r)
		if p == nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="runlog"`)
			refuse(w, r, http.StatusUnauthorized, "sign in: set MLFLOW_TRACKING_TOKEN to a runlog API key, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD")
			return
		}
		created, err := s.allowMLflow(r, p, h)
		if err != nil {
			code := http.StatusForbidden
			var he *httpError
			if errors.As(err, &he) {
				code = he.code
			}
			refuse(w, r, code, err.Error())
			return
		}
		if created == "" {
			call := mlflowCall(r)
			if !mlflowAudited[call] {
				h.ServeHTTP(w, r)
				return
			}
			detail := peekBody(r, 2048)
			sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
			h.ServeHTTP(sw, r)
			if sw.code == http.StatusOK {
				s.opts.Accounts.Audit(context.WithoutCancel(r.Context()), actor(r), "mlflow."+strings.ReplaceAll(strings.Fields(call)[1], "/", "."), "", detail)
			}
			return
		}
		// runs/create: the new run's creator is the user.
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK {
			var resp struct {
				Run struct {
					Info struct {
						RunID string `json:"run_id"`
					} `json:"info"`
				} `json:"run"`
			}
			if json.Unmarshal(rec.Body.Bytes(), &resp) == nil && resp.Run.Info.RunID != "" {
				ctx := context.WithoutCancel(r.Context())
				if err := s.opts.Accounts.SetRunOwner(ctx, resp.Run.Info.RunID, created, p.User.Name); err != nil {
					s.opts.Logf("runlog: %v", err)
				}
				s.opts.Accounts.Audit(ctx, actor(r), "run.create", resp.Run.Info.RunID, "project="+created)
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// mlflowIDs are the fields of MLflow's requests that name what they act on.
type mlflowIDs struct {
	RunID          string   `json:"run_id"`
	RunUUID        string   `json:"run_uuid"`
	RunIDs         []string `json:"run_ids"`
	SourceRunID    string   `json:"source_run_id"`
	ExperimentID   string   `json:"experiment_id"`
	ExperimentIDs  []string `json:"experiment_ids"`
	ExperimentName string   `json:"experiment_name"`
	Name           string   `json:"name"`
	NewName        string   `json:"new_name"`
	Path           string   `json:"path"`
}

// mlflowAudited lists the MLflow calls that change what a run or an
// experiment is, rather than log to it: the audit log records them.
var mlflowAudited = map[string]bool{
	"POST runs/update": true, "POST runs/delete": true, "POST runs/restore": true,
	"POST experiments/update": true, "POST experiments/delete": true, "POST experiments/restore": true,
}

// mlflowCall returns "METHOD path" of a tracking API request, the path
// under the API's prefix, as mlflow.Endpoints lists them.
func mlflowCall(r *http.Request) string {
	return r.Method + " " + strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/ajax-api/2.0/mlflow/"), "/api/2.0/mlflow/")
}

// mlflowWrite lists the tracking API's calls that change a run; the rest
// of the table reads, but for experiments' changes (mlflowManage).
var mlflowWrite = map[string]bool{
	"POST runs/update": true, "POST runs/delete": true, "POST runs/restore": true, "POST runs/log-metric": true,
	"POST runs/log-batch": true, "POST runs/log-parameter": true, "POST runs/set-tag": true, "POST runs/delete-tag": true,
	"POST runs/log-inputs": true, "POST runs/outputs": true, "POST logged-models": true,
}

var mlflowManage = map[string]bool{
	"POST experiments/update": true, "POST experiments/delete": true, "POST experiments/restore": true,
	"POST experiments/set-experiment-tag": true, "POST experiments/delete-experiment-tag": true,
}

// allowMLflow checks an MLflow call; for runs/create it returns the
// project the new run goes to.
func (s *Server) allowMLflow(r *http.Request, p *accounts.Principal, h http.Handler) (string, error) {
	ctx := r.Context()
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/2.0/mlflow-artifacts/artifacts"); ok {
		path := strings.TrimPrefix(rest, "/")
		if path == "" {
			path = r.URL.Query().Get("path")
		}
		parts := strings.SplitN(strings.Trim(path, "/"), "/", 3)
		if len(parts) < 2 {
			return "", nil // the handler says what is wrong with the path
		}
		run, err := s.runOf(ctx, parts[1])
		if err != nil || !p.CanRead(run.project) {
			return "", errNoRun
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !p.CanChangeRun(run.project, run.owner) {
			return "", errForbidden
		}
		return "", nil
	}
	call := mlflowCall(r)
	var ids mlflowIDs
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		ids = mlflowIDs{RunID: q.Get("run_id"), RunUUID: q.Get("run_uuid"), RunIDs: q["run_ids"], ExperimentID: q.Get("experiment_id"),
			ExperimentName: q.Get("experiment_name")}
	} else if r.Body != nil {
		json.Unmarshal([]byte(peekBody(r, 1<<30)), &ids) // a body that is not JSON: the handler says so
	}
	runs := ids.RunIDs
	for _, id := range []string{ids.RunID, ids.RunUUID, ids.SourceRunID} {
		if id != "" {
			runs = append(runs, id)
		}
	}
	for _, id := range runs {
		run, err := s.runOf(ctx, id)
		if err != nil || !p.CanRead(run.project) {
			return "", errNoRun
		}
		if mlflowWrite[call] && !p.CanChangeRun(run.project, run.owner) {
			return "", errForbidden
		}
	}
	if len(runs) > 0 && call != "POST logged-models" {
		return "", nil
	}
	if mlflowWrite[call] && call != "POST logged-models" {
		return "", nil // no run named: the handler says so
	}
	exps := ids.ExperimentIDs
	if ids.ExperimentID != "" {
		exps = append(exps, ids.ExperimentID)
	}
	var projects []string
	for _, id := range exps {
		name, err := experimentName(r, h, id)
		if err != nil {
			return "", &httpError{http.StatusNotFound, "no experiment " + strconv.Quote(id)}
		}
		projects = append(projects, name)
	}
	switch call {
	case "GET experiments/get-by-name":
		projects = append(projects, ids.ExperimentName)
	case "POST experiments/create":
		projects = append(projects, ids.Name)
	}
	if ids.NewName != "" {
		projects = append(projects, ids.NewName)
	}
	switch {
	case call == "POST runs/create" || call == "POST experiments/create" || call == "POST logged-models":
		for _, name := range projects {
			if !p.CanWrite(name) {
				return "", &httpError{http.StatusForbidden, "you may not log runs to project " + strconv.Quote(name)}
			}
		}
		if call == "POST runs/create" && len(projects) == 1 {
			return projects[0], nil
		}
		if call == "POST runs/create" && len(projects) == 0 {
			if !p.CanWrite("default") {
				return "", &httpError{http.StatusForbidden, `you may not log runs to project "default"`}
			}
			return "default", nil
		}
		return "", nil
	case mlflowManage[call]:
		for _, name := range projects {
			if !p.CanManage(name) {
				return "", &httpError{http.StatusForbidden, "only the project's admins may change its experiment"}
			}
		}
		return "", nil
	case call == "GET experiments/search" || call == "POST experiments/search":
		return "", nil // experiments' names only
	}
	if len(projects) == 0 && !p.User.Admin {
		// Calls that name neither run nor experiment (logged models by
		// id): the server's admins only.
		return "", &httpError{http.StatusForbidden, "only the server's admins may make this call"}
	}
	for _, name := range projects {
		if !p.CanRead(name) {
			return "", &httpError{http.StatusNotFound, "no experiment " + strconv.Quote(name)}
		}
	}
	return "", nil
}

// experimentName asks the MLflow handler for an experiment's name, which
// is its project's.
func experimentName(r *http.Request, h http.Handler, id string) (string, error) {
	req := httptest.NewRequestWithContext(r.Context(), http.MethodGet, "/api/2.0/mlflow/experiments/get?experiment_id="+url.QueryEscape(id), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp struct {
		Experiment struct {
			Name string `json:"name"`
		} `json:"experiment"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &resp) != nil || resp.Experiment.Name == "" {
		return "", fmt.Errorf("experiment %s: %d", id, rec.Code)
	}
	return projectName(resp.Experiment.Name), nil
}
