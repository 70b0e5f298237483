package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/runlog/runlog/internal/accounts"
)

// The routes of accounts: sessions, keys, members, the audit log. Without
// accounts (the one-person server) they answer 404.

// errNoAccounts answers accounts' routes on a server without them.
var errNoAccounts = &httpError{http.StatusNotFound, "this server has no accounts: start it with --accounts (docs/server.md)"}

// accountsErr maps the accounts' errors to statuses.
func accountsErr(err error) error {
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		return &httpError{http.StatusNotFound, err.Error()}
	case errors.Is(err, accounts.ErrExists):
		return &httpError{http.StatusConflict, err.Error()}
	case errors.Is(err, accounts.ErrBadCredential):
		return &httpError{http.StatusUnauthorized, err.Error()}
	case errors.Is(err, accounts.ErrTooMany):
		return &httpError{http.StatusTooManyRequests, err.Error()}
	}
	return err
}

// sessionJSON is who the browser is signed in as.
type sessionJSON struct {
	Accounts bool                     `json:"accounts"` // the server has accounts
	User     string                   `json:"user,omitempty"`
	Admin    bool                     `json:"admin,omitempty"`
	Roles    map[string]accounts.Role `json:"roles,omitempty"`
	Readable []string                 `json:"readable,omitempty"`
	ReadOnly bool                     `json:"read_only,omitempty"` // signed in with a read-only key
}

func sessionOf(p *accounts.Principal) sessionJSON {
	out := sessionJSON{Accounts: true, User: p.User.Name, Admin: p.User.Admin, Roles: map[string]accounts.Role{}, Readable: p.Readable(), ReadOnly: !p.Writes()}
	for _, name := range out.Readable {
		if r := p.Role(name); r != "" {
			out.Roles[name] = r
		}
	}
	return out
}

// getSession says who the request is from: {"accounts": true} without a
// user for nobody signed in, {"accounts": false} without accounts (a
// server with a token answers 401 before, from its token check).
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		writeJSON(w, http.StatusOK, sessionJSON{})
		return nil
	}
	p := principalOf(r)
	if p == nil {
		writeJSON(w, http.StatusOK, sessionJSON{Accounts: true})
		return nil
	}
	writeJSON(w, http.StatusOK, sessionOf(p))
	return nil
}

// createSession signs a browser in: {"user", "password"} → the session cookie.
// Failed attempts are slowed and then refused per user and per address.
func (s *Server) createSession(w http.ResponseWriter, r *http.Request) error {
	acc := s.opts.Accounts
	if acc == nil {
		return errNoAccounts
	}
	var body struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return badRequest("give {\"user\": …, \"password\": …}: %v", err)
	}
	ctx := r.Context()
	u, delay, err := acc.Login(ctx, body.User, body.Password, remoteHost(r))
	if errors.Is(err, accounts.ErrTooMany) {
		w.Header().Set("Retry-After", strconv.Itoa(int(delay.Seconds())+1))
		return accountsErr(err)
	}
	if err != nil {
		if delay > 0 {
			w.Header().Set("X-Runlog-Login-Delay", delay.String())
			wait(ctx, delay)
		}
		if errors.Is(err, accounts.ErrBadCredential) {
			acc.Audit(ctx, accounts.Actor{Name: body.User, Addr: remoteHost(r)}, "login.fail", body.User, "")
			return &httpError{http.StatusUnauthorized, "wrong user name or password"}
		}
		return err
	}
	token, expires, err := acc.NewSession(ctx, u.Name)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil || s.opts.BehindTLS,
		SameSite: http.SameSiteStrictMode, Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
	})
	p, err := acc.UserPrincipal(ctx, u.Name)
	if err != nil {
		return err
	}
	acc.Audit(ctx, accounts.Actor{Name: u.Name, Addr: remoteHost(r)}, "login", u.Name, "")
	writeJSON(w, http.StatusOK, sessionOf(p))
	return nil
}

// logout ends the browser's session and clears its cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.opts.Accounts.EndSession(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil || s.opts.BehindTLS,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listKeys lists the user's keys, or everyone's for a server admin who
// asks ?all=1; never their secrets.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	p := principalOf(r)
	user := p.User.Name
	if p.User.Admin && r.URL.Query().Get("all") == "1" {
		user = ""
	}
	keys, err := s.opts.Accounts.Store().Keys(r.Context(), user)
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []accounts.Key{}
	}
	writeJSON(w, http.StatusOK, struct {
		Keys []accounts.Key `json:"keys"`
	}{keys})
	return nil
}

// addKey makes a key for the user signed in with its password or a
// session (a key does not make keys): {"name", "read_only", "projects",
// "expires_in_days"}. The answer holds the key, the only time it is shown.
func (s *Server) addKey(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	p := principalOf(r)
	if p.Key != nil {
		return &httpError{http.StatusForbidden, "an API key does not make keys: sign in with your password"}
	}
	var body struct {
		Name     string   `json:"name"`
		ReadOnly bool     `json:"read_only"`
		Projects []string `json:"projects"`
		Days     int      `json:"expires_in_days"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return badRequest("give {\"name\": …}: %v", err)
	}
	var expires time.Time
	if body.Days < 0 {
		return badRequest("expires_in_days: give a number of days, or 0 for a key that does not expire")
	}
	if body.Days > 0 {
		expires = s.opts.Now().Add(time.Duration(body.Days) * 24 * time.Hour)
	}
	secret, k, err := s.opts.Accounts.NewKey(r.Context(), actor(r), p.User.Name, body.Name, accounts.KeyScope{ReadOnly: body.ReadOnly, Projects: body.Projects}, expires)
	if err != nil {
		if errors.Is(err, accounts.ErrNotFound) || errors.Is(err, accounts.ErrExists) {
			return accountsErr(err)
		}
		return badRequest("%v", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, struct {
		Key    accounts.Key `json:"key"`
		Secret string       `json:"secret"`
	}{k, secret})
	return nil
}

// revokeKey revokes one of the user's keys, or anyone's for a server admin.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	p, id := principalOf(r), r.PathValue("key")
	k, _, err := s.opts.Accounts.Store().Key(r.Context(), id)
	if err != nil || (k.User != p.User.Name && !p.User.Admin) {
		return &httpError{http.StatusNotFound, "no key " + strconv.Quote(id) + " of yours"}
	}
	if err := s.opts.Accounts.RevokeKey(r.Context(), actor(r), id); err != nil {
		return accountsErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// projectJSON is a project as its user sees it.
type projectJSON struct {
	accounts.Project
	Role accounts.Role `json:"role,omitempty"`
}

// listProjects lists the projects the user reads, with its role in each.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	p := principalOf(r)
	all, err := s.opts.Accounts.Store().Projects(r.Context())
	if err != nil {
		return err
	}
	out := []projectJSON{}
	for _, pr := range all {
		if p.CanRead(pr.Name) {
			out = append(out, projectJSON{pr, p.Role(pr.Name)})
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Projects []projectJSON `json:"projects"`
	}{out})
	return nil
}

// listMembers lists a project's members, for its admins.
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	ms, err := s.opts.Accounts.Store().Members(r.Context(), r.PathValue("project"), "")
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []accounts.Member{}
	}
	writeJSON(w, http.StatusOK, struct {
		Members []accounts.Member `json:"members"`
	}{ms})
	return nil
}

// setMember gives a user a role in the project, or takes it: {"user",
// "role"} with role "" to remove.
func (s *Server) setMember(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	var body struct {
		User string `json:"user"`
		Role string `json:"role"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return badRequest("give {\"user\": …, \"role\": …}: %v", err)
	}
	var role accounts.Role
	if body.Role != "" {
		var err error
		if role, err = accounts.ParseRole(body.Role); err != nil {
			return badRequest("%v", err)
		}
	}
	if err := s.opts.Accounts.SetMember(r.Context(), actor(r), r.PathValue("project"), body.User, role); err != nil {
		return accountsErr(err)
	}
	return s.listMembers(w, r)
}

// auditLog answers the audit log for the server's admins: ?after=<seq>
// &limit=<n>, oldest first.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	p := r.URL.Query()
	after, err := strconv.ParseInt(p.Get("after"), 10, 64)
	if p.Get("after") == "" {
		after, err = 0, nil
	}
	if err != nil || after < 0 {
		return badRequest("after: give the seq of the last event seen")
	}
	limit, err := intParam(p.Get("limit"), 1000, 1, 10000)
	if err != nil {
		return badRequest("limit: %v", err)
	}
	es, err := s.opts.Accounts.Store().Events(r.Context(), after, limit)
	if err != nil {
		return err
	}
	if es == nil {
		es = []accounts.Event{}
	}
	writeJSON(w, http.StatusOK, struct {
		Events []accounts.Event `json:"events"`
	}{es})
	return nil
}

// runCreator answers who created a run through the server, and when:
// 404 for a run the server did not see created.
func (s *Server) runCreator(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	run, err := s.runOf(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	o, err := s.opts.Accounts.Store().RunOwner(r.Context(), run.id)
	if err != nil {
		return &httpError{http.StatusNotFound, "the server did not see who created run " + run.id}
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// listUsers lists the users, for the server's admins.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	us, err := s.opts.Accounts.Store().Users(r.Context())
	if err != nil {
		return err
	}
	if us == nil {
		us = []accounts.User{}
	}
	writeJSON(w, http.StatusOK, struct {
		Users []accounts.User `json:"users"`
	}{us})
	return nil
}

// passwordJSON answers a password the server made, shown this once.
type passwordJSON struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// addUser makes a user, for the server's admins: {"name", "admin"}; the
// answer holds the password made for it, once.
func (s *Server) addUser(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	var body struct {
		Name  string `json:"name"`
		Admin bool   `json:"admin"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return badRequest("give {\"name\": …}: %v", err)
	}
	pw := accounts.NewPassword()
	if err := s.opts.Accounts.AddUser(r.Context(), actor(r), body.Name, pw, body.Admin); err != nil {
		if errors.Is(err, accounts.ErrExists) {
			return accountsErr(err)
		}
		return badRequest("%v", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, passwordJSON{body.Name, pw})
	return nil
}

// changeUser disables, enables or resets the password of a user, for the
// server's admins: {"disabled": bool} or {"reset_password": true}, whose
// answer holds the new password, once.
func (s *Server) changeUser(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	var body struct {
		Disabled *bool `json:"disabled"`
		Reset    bool  `json:"reset_password"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || (body.Disabled == nil) == !body.Reset {
		return badRequest("give {\"disabled\": true|false} or {\"reset_password\": true}")
	}
	name, ctx := r.PathValue("user"), r.Context()
	if body.Disabled != nil {
		if err := s.opts.Accounts.SetDisabled(ctx, actor(r), name, *body.Disabled); err != nil {
			return accountsErr(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	pw := accounts.NewPassword()
	if err := s.opts.Accounts.ResetPassword(ctx, actor(r), name, pw); err != nil {
		return accountsErr(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, passwordJSON{name, pw})
	return nil
}

// addProject makes a project, for the server's admins: {"name",
// "visibility"}.
func (s *Server) addProject(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Accounts == nil {
		return errNoAccounts
	}
	var body struct {
		Name       string `json:"name"`
		Visibility string `json:"visibility"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return badRequest("give {\"name\": …, \"visibility\": \"private\"|\"visible\"}: %v", err)
	}
	if body.Visibility == "" {
		body.Visibility = string(accounts.Private)
	}
	v, err := accounts.ParseVisibility(body.Visibility)
	if err != nil {
		return badRequest("%v", err)
	}
	if err := s.opts.Accounts.AddProject(r.Context(), actor(r), body.Name, v); err != nil {
		if errors.Is(err, accounts.ErrExists) {
			return accountsErr(err)
		}
		return badRequest("%v", err)
	}
	return s.listProjects(w, r)
}
