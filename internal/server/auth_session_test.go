package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/accounts"
)

// TestTeamListsAndOwnRuns: a runs list holds only the runs its user
// reads; a writer changes its own runs and not another writer's, which an
// admin of the project changes.
func TestTeamListsAndOwnRuns(t *testing.T) {
	tm := newTeamServer(t, accounts.Limits{})
	run, _ := tm.ingestRun("writer", "lab")
	other, _ := tm.ingestRun("other-writer", "other")
	tm.waitIndexed(run)
	tm.waitIndexed(other)
	ctx := context.Background()
	// list lists as cred, with more query parameters after an "&".
	list := func(cred string) string {
		cred, more, _ := strings.Cut(cred, "&")
		if more != "" {
			more = "&" + more
		}
		code, body := tm.do(cred, "GET", "/api/v1/runs?q=name+~+%22run-%22"+more, nil)
		if code != 200 {
			t.Fatalf("list as %s: %d %s", cred, code, body)
		}
		return string(body)
	}
	for _, tt := range []struct {
		cred       string
		lab, other bool
	}{{"viewer", true, false}, {"other-writer", false, true}, {"root", true, true}} {
		got := list(tt.cred)
		if strings.Contains(got, run) != tt.lab || strings.Contains(got, other) != tt.other {
			t.Errorf("%s lists %s", tt.cred, got)
		}
	}
	tm.acc.SetVisibility(ctx, accounts.CLI, "lab", accounts.Visible)
	if !strings.Contains(list("other-writer"), run) {
		t.Errorf("a visible project's run is not listed to every user")
	}
	// Another writer of lab (rita) may not change wanda's run; adam may.
	_, _, err := tm.acc.NewKey(ctx, accounts.CLI, "rita", "w", accounts.KeyScope{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	rita, _, _ := tm.acc.NewKey(ctx, accounts.CLI, "rita", "w2", accounts.KeyScope{}, time.Time{})
	tm.keys["rita"] = rita
	if code, _ := tm.do("rita", "POST", "/api/v1/runs/"+run+"/annotate", []byte(`{"name": "mine"}`)); code != 403 {
		t.Errorf("another writer renames the writer's run: %d", code)
	}
	if code, body := tm.do("admin", "POST", "/api/v1/runs/"+run+"/annotate", []byte(`{"name": "renamed"}`)); code != 200 {
		t.Errorf("the project's admin renames it: %d %s", code, body)
	}
	// A key scoped to project other does not write to lab.
	scoped, _, _ := tm.acc.NewKey(ctx, accounts.CLI, "wanda", "scoped", accounts.KeyScope{Projects: []string{"other"}}, time.Time{})
	tm.keys["scoped"] = scoped
	if code, _ := tm.do("scoped", "POST", "/api/v1/runs/"+run+"/annotate", []byte(`{"archived": false}`)); code != 403 {
		t.Errorf("a key scoped to another project changes the run: %d", code)
	}
	if code, _ := tm.do("scoped", "GET", "/api/v1/runs/"+run, nil); code != 200 {
		t.Errorf("a scoped key reads: %d", code)
	}
	// MLflow's changes of runs are audited too.
	var created mlflowRun
	var exp mlflowExperiment
	_, body := tm.do("writer", "GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=lab", nil)
	json.Unmarshal(body, &exp)
	tm.mlflowJSON("writer", "runs/create", map[string]any{"experiment_id": exp.Experiment.ID}, &created)
	tm.mlflowJSON("writer", "runs/delete", map[string]any{"run_id": created.Run.Info.RunID}, nil)
	// MLflow's client reads a refusal in its own codes: 404 creates the
	// experiment, and that is refused with the reason.
	if code, body := tm.do("writer", "GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=nosuch", nil); code != 404 || !strings.Contains(string(body), `"error_code":"RESOURCE_DOES_NOT_EXIST"`) {
		t.Errorf("an experiment the user does not read: %d %s", code, body)
	}
	// The audit log says who did what from where.
	es, _ := tm.st.Events(ctx, 0, 1000)
	var lines []string
	for _, e := range es {
		lines = append(lines, e.Actor+" "+e.Action+" "+e.Target+" "+e.Addr)
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{"wanda (key ", "run.create " + run + " 127.0.0.1", "adam (key ", "run.annotate " + run, "project.member lab/wanda", "key.revoke", "mlflow.runs.delete"} {
		if !strings.Contains(all, want) {
			t.Errorf("the audit log has no %q:\n%s", want, all)
		}
	}
	// The creator of a run is answered, and lists filter by it.
	if code, body := tm.do("viewer", "GET", "/api/v1/runs/"+run+"/creator", nil); code != 200 || !strings.Contains(string(body), `"user":"wanda"`) {
		t.Errorf("creator of %s: %d %s", run, code, body)
	}
	if got := list("root&created_by=otto"); strings.Contains(got, run) || !strings.Contains(got, other) {
		t.Errorf("runs created by otto: %s", got)
	}
	if got := list("viewer&created_by=otto"); strings.Contains(got, other) {
		t.Errorf("created_by shows a run the user does not read: %s", got)
	}
}

// TestTeamRevocationEveryReplica: two servers over the same accounts
// file, as replicas: a key revoked through one is refused by the other at
// its next request, and a disabled user's key too.
func TestTeamRevocationEveryReplica(t *testing.T) {
	tm := newTeamServer(t, accounts.Limits{})
	home2 := t.TempDir()
	_, ts2 := newTestServer(t, home2, Options{Addr: "0.0.0.0:7707", Accounts: tm.acc})
	get := func(url string) int {
		req, _ := http.NewRequest("GET", url+"/api/v1/health", nil)
		req.Header.Set("Authorization", "Bearer "+tm.keys["viewer"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := get(tm.url), get(ts2.URL); a != 200 || b != 200 {
		t.Fatalf("before revoking: %d %d", a, b)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(tm.keys["viewer"], accounts.KeyPrefix), "_")
	if code, body := tm.do("viewer", "POST", "/api/v1/keys/"+id+"/revoke", nil); code != 204 {
		t.Fatalf("revoke through replica 1: %d %s", code, body)
	}
	if b := get(ts2.URL); b != 401 {
		t.Errorf("replica 2 after the revocation: %d, want 401", b)
	}
	ctx := context.Background()
	tm.acc.SetDisabled(ctx, accounts.CLI, "adam", true)
	if code, _ := tm.do("admin", "GET", "/api/v1/health", nil); code != 401 {
		t.Errorf("a disabled user's key: %d", code)
	}
	tm.acc.SetDisabled(ctx, accounts.CLI, "adam", false)
	if code, _ := tm.do("admin", "GET", "/api/v1/health", nil); code != 200 {
		t.Errorf("enabled again: %d", code)
	}
}

// TestTeamSessions: a browser signs in with its password and gets an
// HttpOnly, SameSite cookie (Secure behind TLS); the cookie reads; a key
// made through it is shown once; logout ends it; a cross-site write is
// refused even signed in.
func TestTeamSessions(t *testing.T) {
	tm := newTeamServer(t, accounts.Limits{})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path, body string, h map[string]string) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", tm.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Runlog-Client", "web")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, data
	}
	if r, err := c.Get(tm.url + "/api/v1/session"); err != nil {
		t.Fatal(err)
	} else {
		data, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || strings.TrimSpace(string(data)) != `{"accounts":true}` {
			t.Errorf("the session of nobody: %d %s", r.StatusCode, data)
		}
	}
	resp, body := post("/api/v1/session", `{"user": "vera", "password": "wrong password"}`, nil)
	if resp.StatusCode != 401 || strings.Contains(string(body), "wrong password") {
		t.Errorf("wrong password: %d %s", resp.StatusCode, body)
	}
	resp, body = post("/api/v1/session", `{"user": "vera", "password": "password-of-vera"}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"user":"vera"`) || !strings.Contains(string(body), `"lab":"viewer"`) {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	ck := resp.Cookies()
	if len(ck) != 1 || ck[0].Name != sessionCookie || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Secure || ck[0].MaxAge <= 0 {
		t.Errorf("session cookie: %+v", ck)
	}
	r, err := c.Get(tm.url + "/api/v1/session")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Errorf("GET session with the cookie: %d", r.StatusCode)
	}
	resp, body = post("/api/v1/keys", `{"name": "laptop", "read_only": true, "expires_in_days": 30}`, nil)
	var made struct {
		Secret string       `json:"secret"`
		Key    accounts.Key `json:"key"`
	}
	json.Unmarshal(body, &made)
	if resp.StatusCode != 200 || !strings.HasPrefix(made.Secret, accounts.KeyPrefix) || !made.Key.ReadOnly || made.Key.Expires.IsZero() {
		t.Fatalf("key made through the session: %d %s", resp.StatusCode, body)
	}
	r, _ = c.Get(tm.url + "/api/v1/keys")
	list, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(list), made.Key.ID) || strings.Contains(string(list), made.Secret[len(accounts.KeyPrefix)+len(made.Key.ID)+1:]) {
		t.Errorf("the key list shows no key or its secret: %s", list)
	}
	// Cross-site writes are refused with the cookie too.
	resp, _ = post("/api/v1/projects/lab/members", `{"user": "vera", "role": "admin"}`, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"})
	if resp.StatusCode != 403 {
		t.Errorf("cross-site POST with a session: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("DELETE", tm.url+"/api/v1/session", nil)
	req.Header.Set("X-Runlog-Client", "web")
	r, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 204 {
		t.Errorf("logout: %d", r.StatusCode)
	}
	r, _ = c.Get(tm.url + "/api/v1/runs")
	r.Body.Close()
	if r.StatusCode != 401 {
		t.Errorf("after logout: %d", r.StatusCode)
	}

	// The server's admin manages users and projects through the API.
	jar2, _ := cookiejar.New(nil)
	c = &http.Client{Jar: jar2}
	if resp, body := post("/api/v1/session", `{"user": "root", "password": "password-of-root"}`, nil); resp.StatusCode != 200 {
		t.Fatalf("root's login: %d %s", resp.StatusCode, body)
	}
	resp, body = post("/api/v1/users", `{"name": "nina"}`, nil)
	var made2 struct{ Password string }
	json.Unmarshal(body, &made2)
	if resp.StatusCode != 200 || len(made2.Password) < accounts.MinPassword {
		t.Fatalf("add nina: %d %s", resp.StatusCode, body)
	}
	if _, err := tm.acc.Password(context.Background(), "nina", made2.Password); err != nil {
		t.Errorf("nina's password: %v", err)
	}
	if resp, body := post("/api/v1/users/nina", `{"disabled": true}`, nil); resp.StatusCode != 204 {
		t.Errorf("disable nina: %d %s", resp.StatusCode, body)
	}
	if _, err := tm.acc.Password(context.Background(), "nina", made2.Password); err == nil {
		t.Errorf("a disabled user's password still works")
	}
	if resp, body := post("/api/v1/projects", `{"name": "newproj", "visibility": "visible"}`, nil); resp.StatusCode != 200 || !strings.Contains(string(body), "newproj") {
		t.Errorf("add a project: %d %s", resp.StatusCode, body)
	}
	if resp, _ := post("/api/v1/projects", `{"name": "newproj"}`, nil); resp.StatusCode != 409 {
		t.Errorf("a project twice: %d", resp.StatusCode)
	}

	// Behind TLS the cookie is Secure.
	_, ts2 := newTestServer(t, t.TempDir(), Options{Addr: "0.0.0.0:7707", Accounts: tm.acc, BehindTLS: true})
	req, _ = http.NewRequest("POST", ts2.URL+"/api/v1/session", strings.NewReader(`{"user": "vera", "password": "password-of-vera"}`))
	req.Header.Set("X-Runlog-Client", "web")
	r, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if ck := r.Cookies(); len(ck) != 1 || !ck[0].Secure {
		t.Errorf("behind TLS: %+v", ck)
	}
}

// TestTeamBruteForce: wrong passwords from one address are answered at
// once, then slowed (the answer says by how much), then refused without
// the password being checked, the right one too; once the window passes
// the right password works. Basic auth counts alike.
func TestTeamBruteForce(t *testing.T) {
	lim := accounts.Limits{Free: 3, Max: 6, Window: 2 * time.Second, Delay: 10 * time.Millisecond}
	tm := newTeamServer(t, lim)
	login := func(pw string) (int, http.Header) {
		req, _ := http.NewRequest("POST", tm.url+"/api/v1/session", strings.NewReader(`{"user": "vera", "password": "`+pw+`"}`))
		req.Header.Set("X-Runlog-Client", "web")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	var codes []int
	slowed := 0
	for range 8 {
		code, h := login("guess-guess-guess")
		codes = append(codes, code)
		if h.Get("X-Runlog-Login-Delay") != "" {
			slowed++
		}
	}
	want := []int{401, 401, 401, 401, 401, 401, 429, 429}
	if !bytes.Equal(intsBytes(codes), intsBytes(want)) || slowed != 3 {
		t.Errorf("wrong passwords: %v (%d slowed), want %v (3 slowed)", codes, slowed, want)
	}
	if code, h := login("password-of-vera"); code != 429 || h.Get("Retry-After") == "" {
		t.Errorf("the right password while locked out: %d, Retry-After %q", code, h.Get("Retry-After"))
	}
	// Basic auth (MLflow's username and password) is locked out too.
	req, _ := http.NewRequest("GET", tm.url+"/api/2.0/mlflow/experiments/search", nil)
	req.SetBasicAuth("vera", "password-of-vera")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Errorf("basic auth while locked out: %d", resp.StatusCode)
	}
	time.Sleep(lim.Window)
	if code, _ := login("password-of-vera"); code != 200 {
		t.Errorf("the right password after the window: %d", code)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("basic auth after the window: %d", resp.StatusCode)
	}
	// A key as the password of basic auth, as MLFLOW_TRACKING_PASSWORD.
	req.SetBasicAuth("wanda", tm.keys["writer"])
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("a key as basic auth's password: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

func intsBytes(v []int) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestTeamSecretsKept: keys and passwords are never in the server's log,
// in an answer's Location or error, nor in clear in the accounts file.
func TestTeamSecretsKept(t *testing.T) {
	var logged bytes.Buffer
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.db")
	ctx := context.Background()
	st, err := accounts.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	acc := accounts.New(st, accounts.Options{})
	password := "a-password-to-find-0123"
	if err := acc.AddUser(ctx, accounts.CLI, "sam", password, false); err != nil {
		t.Fatal(err)
	}
	acc.AddProject(ctx, accounts.CLI, "lab", accounts.Private)
	acc.SetMember(ctx, accounts.CLI, "lab", "sam", accounts.Writer)
	key, _, err := acc.NewKey(ctx, accounts.CLI, "sam", "k", accounts.KeyScope{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, t.TempDir(), Options{Addr: "0.0.0.0:7707", Accounts: acc, Logf: func(f string, a ...any) {
		logged.WriteString(strings.TrimSpace(f) + "\n")
		for _, v := range a {
			if s, ok := v.(interface{ Error() string }); ok {
				logged.WriteString(s.Error() + "\n")
			}
		}
	}})
	secret := key[strings.LastIndexByte(key, '_')+1:]
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var answers bytes.Buffer
	for _, tt := range []struct{ method, path, auth string }{
		{"GET", "/api/v1/runs", "Bearer " + key},
		{"GET", "/api/v1/runs/nope", "Bearer " + key},
		{"GET", "/api/v1/runs", "Bearer " + key + "x"},
		{"GET", "/api/v1/runs", "Bearer rlk_nope_" + secret},
		{"POST", "/api/v1/ingest/abcdefgh/run.log?offset=0", "Bearer " + key},
		{"GET", "/api/2.0/mlflow/runs/get?run_id=nope", "Bearer " + key},
		{"GET", "/login?token=" + key, ""},
		{"GET", "/", "Bearer " + key},
	} {
		req, _ := http.NewRequest(tt.method, ts.URL+tt.path, strings.NewReader("not a run log"))
		req.Header.Set("X-Runlog-Client", "t")
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers.Write(body)
		answers.WriteString(resp.Header.Get("Location") + "\n")
	}
	for name, text := range map[string]string{"an answer": answers.String(), "the log": logged.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("%s holds the key's secret:\n%s", name, text)
		}
	}
	st.Close()
	for _, f := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for what, s := range map[string]string{"key": secret, "password": password} {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds the %s in clear", f, what)
			}
		}
	}
}
