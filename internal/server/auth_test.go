package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/accounts"
	"github.com/runlog/runlog/internal/mlflow"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/store"
	"golang.org/x/crypto/bcrypt"
)

// team is a team-mode server for tests, with its users' API keys.
type team struct {
	t    *testing.T
	s    *Server
	url  string
	acc  *accounts.Accounts
	st   accounts.Store
	keys map[string]string // by credential name
	ids  atomic.Int64
}

// matrixCreds are the columns of the authorization matrix, in order.
var matrixCreds = []string{"none", "revoked", "expired", "read-only", "viewer", "writer", "admin", "other-writer"}

// newTeam starts a team-mode server with its MLflow mount: users root
// (the server's admin), wanda (writer of lab), vera (viewer of lab), adam
// (admin of lab), rita (writer of lab, with a read-only key) and otto
// (writer of other).
func newTeamServer(t *testing.T, limits accounts.Limits) *team {
	t.Helper()
	ctx := context.Background()
	home := t.TempDir()
	st, err := accounts.OpenSQLite(ctx, filepath.Join(t.TempDir(), "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acc := accounts.New(st, accounts.Options{BcryptCost: bcrypt.MinCost, Login: limits})
	s, ts := newTestServer(t, home, Options{Addr: "0.0.0.0:7707", Accounts: acc, Mounts: func(st store.Store) map[string]http.Handler {
		h := mlflow.NewHandler(st, home, mlflow.Options{})
		return map[string]http.Handler{mlflow.TrackingPrefix: h, mlflow.ArtifactsPrefix: h}
	}})
	tm := &team{t: t, s: s, url: ts.URL, acc: acc, st: st, keys: map[string]string{}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	by := accounts.CLI
	for _, u := range []string{"root", "wanda", "vera", "adam", "rita", "otto"} {
		must(acc.AddUser(ctx, by, u, "password-of-"+u, u == "root"))
	}
	must(acc.AddProject(ctx, by, "lab", accounts.Private))
	must(acc.AddProject(ctx, by, "other", accounts.Private))
	for _, m := range []struct {
		Project, User string
		Role          accounts.Role
	}{{"lab", "wanda", accounts.Writer}, {"lab", "vera", accounts.Viewer}, {"lab", "adam", accounts.Admin},
		{"lab", "rita", accounts.Writer}, {"other", "otto", accounts.Writer}} {
		must(acc.SetMember(ctx, by, m.Project, m.User, m.Role))
	}
	key := func(user string, scope accounts.KeyScope, expires time.Time) string {
		k, _, err := acc.NewKey(ctx, by, user, "test", scope, expires)
		must(err)
		return k
	}
	tm.keys["root"] = key("root", accounts.KeyScope{}, time.Time{})
	tm.keys["revoked"] = key("wanda", accounts.KeyScope{}, time.Time{})
	id, _, _ := strings.Cut(strings.TrimPrefix(tm.keys["revoked"], accounts.KeyPrefix), "_")
	must(acc.RevokeKey(ctx, by, id))
	tm.keys["expired"] = key("wanda", accounts.KeyScope{}, time.Now().Add(-time.Minute))
	tm.keys["read-only"] = key("rita", accounts.KeyScope{ReadOnly: true}, time.Time{})
	tm.keys["viewer"] = key("vera", accounts.KeyScope{}, time.Time{})
	tm.keys["writer"] = key("wanda", accounts.KeyScope{}, time.Now().Add(time.Hour))
	tm.keys["admin"] = key("adam", accounts.KeyScope{}, time.Time{})
	tm.keys["other-writer"] = key("otto", accounts.KeyScope{}, time.Time{})
	return tm
}

// do sends a request with a credential's key (none for "none") and
// returns the status and body.
func (tm *team) do(cred, method, path string, body []byte, headers ...map[string]string) (int, []byte) {
	tm.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, tm.url+path, bytes.NewReader(body))
	if err != nil {
		tm.t.Fatal(err)
	}
	req.Header.Set("X-Runlog-Client", "test")
	if method == http.MethodPost && strings.Contains(path, "/mlflow/") || strings.HasPrefix(path, "/api/v1/") && len(body) > 0 && body[0] == '{' {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		for k, v := range h {
			req.Header.Set(k, v)
		}
	}
	if k := tm.keys[cred]; k != "" {
		req.Header.Set("Authorization", "Bearer "+k)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tm.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode, nil // a stream does not end
	}
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// waitIndexed waits until the indexer has brought a run into the store.
func (tm *team) waitIndexed(id string) {
	tm.t.Helper()
	for range 200 {
		if code, _ := tm.do("root", "GET", "/api/v1/runs/"+id, nil); code == 200 {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	tm.t.Fatalf("run %s is not indexed after 5 s", id)
}

// newRunID returns a run id not used before.
func (tm *team) newRunID() string { return fmt.Sprintf("m%07d", tm.ids.Add(1)) }

// ingestRun logs a new run to project as cred and returns its id.
func (tm *team) ingestRun(cred, project string) (string, int) {
	id := tm.newRunID()
	log := runfmttest.New(runfmt.Header{Format: 1, ID: id, Name: "run-" + id, Project: project, Time: 1}).
		Config(`{"lr": 0.01}`).Point(1, 2, "loss", 0.5).Point(2, 3, "loss", 0.25)
	code, _ := tm.do(cred, "POST", "/api/v1/ingest/"+id+"/run.log?offset=0", log.Bytes())
	return id, code
}

// mlflowJSON posts to the MLflow API as cred and decodes the answer.
func (tm *team) mlflowJSON(cred, call string, body any, out any) {
	tm.t.Helper()
	data, _ := json.Marshal(body)
	code, resp := tm.do(cred, "POST", "/api/2.0/mlflow/"+call, data)
	if code != 200 {
		tm.t.Fatalf("%s: %d %s", call, code, resp)
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			tm.t.Fatal(err)
		}
	}
}

// Expected statuses of the matrix, one per credential of matrixCreds; "ok"
// is the status the row gives as a success.
const (
	readPrivate    = "401 401 401 ok ok ok ok 404"
	readVisible    = "401 401 401 ok ok ok ok ok"
	signedIn       = "401 401 401 ok ok ok ok ok"
	changePrivate  = "401 401 401 403 403 ok ok 404"
	changeVisible  = "401 401 401 403 403 ok ok 403"
	createInLab    = "401 401 401 403 403 ok ok 403"
	manageLab      = "401 401 401 403 403 403 ok 403"
	serverAdmins   = "401 401 401 403 403 403 403 403"
	expReadPrivate = "401 401 401 ok ok ok ok 404"
)

// matrixRow is one route of the authorization matrix.
type matrixRow struct {
	route            string // the apiNeeds pattern, or "mlflow METHOD call", or "mlflow-artifacts METHOD"
	method, path     string
	pathOf           func(tm *team) string // the path made for each request, instead of path
	headers          map[string]string
	body             string
	ok               int    // the status of success; 0 means 200
	private, visible string // the statuses per credential
	// setup runs before each request as the server's admin; undo after it
	// with its status.
	setup func(tm *team)
	undo  func(tm *team, code int)
}

// TestAuthorizationMatrix: every route of the API, MLflow's API, ingest,
// artifacts and events, by every kind of credential, in a private and in a
// visible project, answers the status its row says; a route without a row
// fails the test.
func TestAuthorizationMatrix(t *testing.T) {
	tm := newTeamServer(t, accounts.Limits{})
	run, code := tm.ingestRun("writer", "lab")
	if code != 200 {
		t.Fatalf("writer's ingest: %d", code)
	}
	tm.waitIndexed(run)
	// MLflow's run is created by the writer too, in the experiment of
	// project lab.
	var exp mlflowExperiment
	if code, body := tm.do("root", "GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=lab", nil); code != 200 {
		t.Fatalf("experiment lab: %d %s", code, body)
	} else {
		json.Unmarshal(body, &exp)
	}
	expID := exp.Experiment.ID
	var created mlflowRun
	tm.mlflowJSON("writer", "runs/create", map[string]any{"experiment_id": expID, "run_name": "ml"}, &created)
	ml := created.Run.Info.RunID
	tm.mlflowJSON("writer", "runs/log-metric", map[string]any{"run_id": ml, "key": "m", "value": 1, "timestamp": 1, "step": 0}, nil)
	art := "/api/2.0/mlflow-artifacts/artifacts/" + expID + "/" + ml + "/artifacts"
	if code, body := tm.do("writer", "PUT", art+"/a.txt", []byte("hello")); code != 200 {
		t.Fatalf("artifact upload: %d %s", code, body)
	}

	read := func(route, path string) matrixRow {
		return matrixRow{route: route, method: "GET", path: path, private: readPrivate, visible: readVisible}
	}
	mlRead := func(call, body string) matrixRow {
		m, p, _ := strings.Cut(call, " ")
		r := matrixRow{route: "mlflow " + call, method: m, path: "/api/2.0/mlflow/" + p, body: body, private: readPrivate, visible: readVisible}
		if m == "GET" {
			r.path, r.body = r.path+"?"+body, ""
		}
		return r
	}
	mlChange := func(call, body string) matrixRow {
		r := mlRead(call, body)
		r.private, r.visible = changePrivate, changeVisible
		return r
	}
	rid := `"run_id": "` + ml + `"`
	eid := `"experiment_id": "` + expID + `"`
	trashAsRoot := func(tm *team) { tm.do("root", "POST", "/api/v1/runs/"+run+"/trash", nil) }
	restoreAsRoot := func(tm *team, _ int) { tm.do("root", "POST", "/api/v1/trash/"+run+"/restore", nil) }
	rows := []matrixRow{
		{route: "GET /api/v1/health", method: "GET", path: "/api/v1/health", private: signedIn, visible: signedIn},
		{route: "GET /api/v1/runs", method: "GET", path: "/api/v1/runs", private: signedIn, visible: signedIn},
		read("GET /api/v1/runs/{id}", "/api/v1/runs/"+run),
		read("GET /api/v1/runs/{id}/series", "/api/v1/runs/"+run+"/series?key=loss"),
		read("GET /api/v1/runs/{id}/artifacts", "/api/v1/runs/"+run+"/artifacts"),
		read("GET /api/v1/runs/{id}/files/{path...}", "/api/v1/runs/"+run+"/files/run.log"),
		read("GET /api/v1/runs/{id}/logs", "/api/v1/runs/"+run+"/logs"),
		read("GET /api/v1/runs/{id}/media", "/api/v1/runs/"+run+"/media"),
		read("GET /api/v1/runs/{id}/media/entries", "/api/v1/runs/"+run+"/media/entries?key=sample"),
		read("GET /api/v1/runs/{id}/histograms", "/api/v1/runs/"+run+"/histograms?key=h"),
		read("GET /api/v1/text", "/api/v1/text?runs="+run+"&key=sample"),
		read("GET /api/v1/compare", "/api/v1/compare?runs="+run),
		read("GET /api/v1/groups", "/api/v1/groups?runs="+run+"&by=config.lr&keys=loss"),
		{route: "GET /api/v1/events", method: "GET", path: "/api/v1/events", private: signedIn, visible: signedIn},
		{route: "POST /api/v1/runs/{id}/annotate", method: "POST", path: "/api/v1/runs/" + run + "/annotate", body: `{"archived": false}`,
			private: changePrivate, visible: changeVisible},
		{route: "POST /api/v1/runs/{id}/trash", method: "POST", path: "/api/v1/runs/" + run + "/trash", private: changePrivate, visible: changeVisible,
			undo: restoreAsRoot},
		{route: "POST /api/v1/trash/{id}/restore", method: "POST", path: "/api/v1/trash/" + run + "/restore", private: changePrivate, visible: changeVisible,
			setup: trashAsRoot, undo: restoreAsRoot},
		{route: "PUT /api/v1/runs/{id}/files/{path...}", method: "PUT", path: "/api/v1/runs/" + run + "/files/artifacts/y.txt", body: "data",
			headers: map[string]string{"X-Runlog-Sha256": fmt.Sprintf("%x", sha256.Sum256([]byte("data")))}, private: changePrivate, visible: changeVisible},
		{route: "GET /api/v1/session", method: "GET", path: "/api/v1/session", private: "ok 401 401 ok ok ok ok ok", visible: "ok 401 401 ok ok ok ok ok"},
		{route: "POST /api/v1/session", method: "POST", path: "/api/v1/session", body: "not json", ok: 400,
			private: "ok 401 401 ok ok ok ok ok", visible: "ok 401 401 ok ok ok ok ok"},
		{route: "DELETE /api/v1/session", method: "DELETE", path: "/api/v1/session", ok: 204,
			private: "ok 401 401 ok ok ok ok ok", visible: "ok 401 401 ok ok ok ok ok"},
		{route: "GET /api/v1/keys", method: "GET", path: "/api/v1/keys", private: signedIn, visible: signedIn},
		// A key does not make keys: a password or a session does.
		{route: "POST /api/v1/keys", method: "POST", path: "/api/v1/keys", body: `{"name": "x"}`, ok: 403,
			private: serverAdmins, visible: serverAdmins},
		// Each request revokes a new key of the writer's.
		{route: "POST /api/v1/keys/{key}/revoke", method: "POST", ok: 204, pathOf: func(tm *team) string {
			_, k, err := tm.acc.NewKey(context.Background(), accounts.CLI, "wanda", "to revoke", accounts.KeyScope{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			return "/api/v1/keys/" + k.ID + "/revoke"
		}, private: "401 401 401 404 404 ok 404 404", visible: "401 401 401 404 404 ok 404 404"},
		{route: "GET /api/v1/projects", method: "GET", path: "/api/v1/projects", private: signedIn, visible: signedIn},
		{route: "GET /api/v1/projects/{project}/members", method: "GET", path: "/api/v1/projects/lab/members", private: manageLab, visible: manageLab},
		{route: "POST /api/v1/projects/{project}/members", method: "POST", path: "/api/v1/projects/lab/members", body: `{"user": "vera", "role": "viewer"}`,
			private: manageLab, visible: manageLab},
		read("GET /api/v1/runs/{id}/creator", "/api/v1/runs/"+run+"/creator"),
		{route: "GET /api/v1/users", method: "GET", path: "/api/v1/users", private: serverAdmins, visible: serverAdmins},
		{route: "POST /api/v1/users", method: "POST", path: "/api/v1/users", body: `{"name": "new"}`, private: serverAdmins, visible: serverAdmins},
		{route: "POST /api/v1/users/{user}", method: "POST", path: "/api/v1/users/vera", body: `{"reset_password": true}`, private: serverAdmins, visible: serverAdmins},
		{route: "POST /api/v1/projects", method: "POST", path: "/api/v1/projects", body: `{"name": "new"}`, private: serverAdmins, visible: serverAdmins},
		{route: "GET /api/v1/audit", method: "GET", path: "/api/v1/audit", private: serverAdmins, visible: serverAdmins},
		{route: "/api/", method: "GET", path: "/api/v1/nothing-here", ok: 404, private: signedIn, visible: signedIn},

		mlRead("GET experiments/get-by-name", "experiment_name=lab"),
		mlRead("GET experiments/get", "experiment_id="+expID),
		{route: "mlflow POST experiments/create", method: "POST", path: "/api/2.0/mlflow/experiments/create", body: `{"name": "lab"}`, ok: 400,
			private: createInLab, visible: createInLab},
		{route: "mlflow POST experiments/search", method: "POST", path: "/api/2.0/mlflow/experiments/search", body: `{}`, private: signedIn, visible: signedIn},
		{route: "mlflow GET experiments/search", method: "GET", path: "/api/2.0/mlflow/experiments/search", private: signedIn, visible: signedIn},
		{route: "mlflow POST experiments/update", method: "POST", path: "/api/2.0/mlflow/experiments/update", body: `{` + eid + `, "new_name": "lab"}`,
			private: manageLab, visible: manageLab},
		{route: "mlflow POST experiments/delete", method: "POST", path: "/api/2.0/mlflow/experiments/delete", body: `{` + eid + `}`,
			private: manageLab, visible: manageLab, undo: func(tm *team, _ int) {
				tm.do("root", "POST", "/api/2.0/mlflow/experiments/restore", []byte(`{`+eid+`}`))
			}},
		{route: "mlflow POST experiments/restore", method: "POST", path: "/api/2.0/mlflow/experiments/restore", body: `{` + eid + `}`,
			private: manageLab, visible: manageLab, setup: func(tm *team) {
				tm.do("root", "POST", "/api/2.0/mlflow/experiments/delete", []byte(`{`+eid+`}`))
			}, undo: func(tm *team, _ int) {
				tm.do("root", "POST", "/api/2.0/mlflow/experiments/restore", []byte(`{`+eid+`}`))
			}},
		{route: "mlflow POST experiments/set-experiment-tag", method: "POST", path: "/api/2.0/mlflow/experiments/set-experiment-tag",
			body: `{` + eid + `, "key": "k", "value": "v"}`, private: manageLab, visible: manageLab},
		{route: "mlflow POST experiments/delete-experiment-tag", method: "POST", path: "/api/2.0/mlflow/experiments/delete-experiment-tag",
			body: `{` + eid + `, "key": "k"}`, private: manageLab, visible: manageLab, setup: func(tm *team) {
				tm.do("root", "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", []byte(`{`+eid+`, "key": "k", "value": "v"}`))
			}},
		{route: "mlflow POST runs/create", method: "POST", path: "/api/2.0/mlflow/runs/create", body: `{` + eid + `}`,
			private: createInLab, visible: createInLab},
		mlRead("GET runs/get", "run_id="+ml),
		mlChange("POST runs/update", `{`+rid+`, "status": "RUNNING"}`),
		{route: "mlflow POST runs/delete", method: "POST", path: "/api/2.0/mlflow/runs/delete", body: `{` + rid + `}`,
			private: changePrivate, visible: changeVisible, undo: func(tm *team, _ int) {
				tm.do("root", "POST", "/api/2.0/mlflow/runs/restore", []byte(`{`+rid+`}`))
			}},
		{route: "mlflow POST runs/restore", method: "POST", path: "/api/2.0/mlflow/runs/restore", body: `{` + rid + `}`,
			private: changePrivate, visible: changeVisible, setup: func(tm *team) {
				tm.do("root", "POST", "/api/2.0/mlflow/runs/delete", []byte(`{`+rid+`}`))
			}, undo: func(tm *team, _ int) {
				tm.do("root", "POST", "/api/2.0/mlflow/runs/restore", []byte(`{`+rid+`}`))
			}},
		mlRead("POST runs/search", `{"experiment_ids": ["`+expID+`"]}`),
		mlChange("POST runs/log-metric", `{`+rid+`, "key": "m", "value": 2, "timestamp": 2, "step": 1}`),
		mlChange("POST runs/log-batch", `{`+rid+`, "metrics": [{"key": "m", "value": 3, "timestamp": 3, "step": 2}]}`),
		mlChange("POST runs/log-parameter", `{`+rid+`, "key": "p", "value": "1"}`),
		mlChange("POST runs/set-tag", `{`+rid+`, "key": "t", "value": "v"}`),
		{route: "mlflow POST runs/delete-tag", method: "POST", path: "/api/2.0/mlflow/runs/delete-tag", body: `{` + rid + `, "key": "t"}`,
			private: changePrivate, visible: changeVisible, setup: func(tm *team) {
				tm.do("root", "POST", "/api/2.0/mlflow/runs/set-tag", []byte(`{`+rid+`, "key": "t", "value": "v"}`))
			}},
		mlRead("GET metrics/get-history", "run_id="+ml+"&metric_key=m"),
		mlRead("GET artifacts/list", "run_id="+ml),
		mlRead("POST logged-models/search", `{"experiment_ids": ["`+expID+`"]}`),
		mlRead("GET metrics/get-history-bulk-interval", "run_ids="+ml+"&metric_key=m"),
		mlChange("POST runs/log-inputs", `{`+rid+`}`),
		mlChange("POST runs/outputs", `{`+rid+`, "models": []}`),
		// A logged model goes into the folder of its source run.
		mlChange("POST logged-models", `{`+eid+`, "name": "m", "source_run_id": "`+ml+`"}`),
		{route: "mlflow-artifacts GET", method: "GET", path: art + "/a.txt", private: readPrivate, visible: readVisible},
		{route: "mlflow-artifacts GET list", method: "GET", path: "/api/2.0/mlflow-artifacts/artifacts?path=" + expID + "/" + ml + "/artifacts",
			private: readPrivate, visible: readVisible},
		{route: "mlflow-artifacts PUT", method: "PUT", path: art + "/b.txt", body: "data", private: changePrivate, visible: changeVisible},
	}
	// Ingest of a new run and of the writer's run, row by row below.
	ingestRows := []string{"POST /api/v1/ingest/{id}/{stream}"}

	// No route is left out: every pattern of routes.go has a row in
	// apiNeeds (guard refuses to start otherwise), and every row of
	// apiNeeds and of MLflow's table has one here.
	have := map[string]bool{}
	for _, r := range rows {
		have[r.route] = true
	}
	for _, r := range ingestRows {
		have[r] = true
	}
	for pattern := range apiNeeds {
		if !have[pattern] {
			t.Errorf("route %s has no row in the authorization matrix", pattern)
		}
	}
	for _, call := range mlflow.Endpoints() {
		if !have["mlflow "+call] {
			t.Errorf("MLflow's %s has no row in the authorization matrix", call)
		}
	}
	for _, r := range rows {
		if _, ok := apiNeeds[r.route]; !ok && !strings.HasPrefix(r.route, "mlflow") {
			t.Errorf("row %s names no route of apiNeeds", r.route)
		}
	}

	for _, vis := range []accounts.Visibility{accounts.Private, accounts.Visible} {
		if err := tm.acc.SetVisibility(context.Background(), accounts.CLI, "lab", vis); err != nil {
			t.Fatal(err)
		}
		t.Run(string(vis), func(t *testing.T) {
			for _, r := range rows {
				want := r.private
				if vis == accounts.Visible {
					want = r.visible
				}
				tm.checkRow(t, r.route, want, r.ok, func(cred string) int {
					if r.setup != nil {
						r.setup(tm)
					}
					path := r.path
					if r.pathOf != nil {
						path = r.pathOf(tm)
					}
					code, body := tm.do(cred, r.method, path, []byte(r.body), r.headers)
					if code == 500 {
						t.Errorf("%s as %s: 500 %s", r.route, cred, body)
					}
					if r.undo != nil {
						r.undo(tm, code)
					}
					return code
				})
			}
			// Ingest: a new run in lab, and more of the writer's run.
			tm.checkRow(t, "POST /api/v1/ingest/{id}/{stream} (a new run in lab)", createInLab, 200, func(cred string) int {
				_, code := tm.ingestRun(cred, "lab")
				return code
			})
			more := runfmttest.Continue(3, map[string]uint32{"loss": 0}).Point(3, 4, "loss", 0.125).Bytes()
			want := changePrivate
			if vis == accounts.Visible {
				want = changeVisible
			}
			tm.checkRow(t, "POST /api/v1/ingest/{id}/{stream} (the writer's run)", want, 200, func(cred string) int {
				_, size := tm.do("root", "POST", "/api/v1/ingest/"+run+"/run.log?offset=0", nil)
				var s struct{ Size int64 }
				json.Unmarshal(size, &s)
				code, _ := tm.do(cred, "POST", "/api/v1/ingest/"+run+"/run.log?offset="+strconv.FormatInt(s.Size, 10), more)
				return code
			})
		})
	}
}

// checkRow runs one row for every credential and compares the statuses
// with want ("ok" standing for ok, 0 meaning 200).
func (tm *team) checkRow(t *testing.T, route, want string, ok int, do func(cred string) int) {
	t.Helper()
	if ok == 0 {
		ok = 200
	}
	wants := strings.Fields(want)
	if len(wants) != len(matrixCreds) {
		t.Fatalf("%s: %d statuses for %d credentials", route, len(wants), len(matrixCreds))
	}
	var got, exp []string
	for i, cred := range matrixCreds {
		w := wants[i]
		if w == "ok" {
			w = strconv.Itoa(ok)
		}
		got = append(got, strconv.Itoa(do(cred)))
		exp = append(exp, w)
	}
	if !slices.Equal(got, exp) {
		t.Errorf("%s:\n  by  %s\n  got  %s\n  want %s", route, strings.Join(matrixCreds, " "), strings.Join(got, " "), strings.Join(exp, " "))
	}
}
