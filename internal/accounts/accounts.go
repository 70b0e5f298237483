// Package accounts holds the people of a team server and what they may do:
// users with hashed passwords, API keys stored hashed, projects with
// members and roles, browser sessions, the creator of each run and the
// audit log of every change.
//
// Store is the one interface of the tables, with one SQL implementation
// and two dialects: SQLite (OpenSQLite, a file of its own in the home,
// accounts.db, beside the store, which is an index that `runlog index
// --rebuild` makes again from the run folders while accounts can be made
// again from nothing) and PostgreSQL (OpenPostgres, the team store's
// database, tables of their own migrated under their own advisory lock).
// Accounts is the logic on top: hashing, keys, sessions, the rules of
// roles and the limit on login attempts. Nothing is cached between
// requests, so a key revoked on one replica is refused by every replica
// at its next request.
package accounts

import (
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"
)

// Role is what a member may do in a project.
type Role string

// The roles, each allowing what the one before it does.
const (
	Viewer Role = "viewer" // read the project's runs
	Writer Role = "writer" // log runs, annotate and delete its own runs
	Admin  Role = "admin"  // members, and any run of the project
)

// rank orders roles; 0 is no role.
func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Writer:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// ParseRole checks a role's name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.rank() > 0 {
		return r, nil
	}
	return "", fmt.Errorf("role %q: use viewer, writer or admin", s)
}

// Visibility says who reads a project's runs.
type Visibility string

// The visibilities.
const (
	Private Visibility = "private" // members only
	Visible Visibility = "visible" // every user of the server reads it
)

// ParseVisibility checks a visibility's name.
func ParseVisibility(s string) (Visibility, error) {
	switch Visibility(s) {
	case Private, Visible:
		return Visibility(s), nil
	}
	return "", fmt.Errorf("visibility %q: use private or visible", s)
}

// User is a person with an account.
type User struct {
	Name     string    `json:"name"`
	Admin    bool      `json:"admin"` // administers the server: users, projects, every run
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created"`
}

// Key is an API key, without its secret.
type Key struct {
	ID   string `json:"id"` // the public part, shown in lists: rlk_<ID>_<secret>
	User string `json:"user"`
	Name string `json:"name"`
	// ReadOnly keys only read. A key that writes writes to Projects, or,
	// when Projects is empty, wherever its user may.
	ReadOnly bool      `json:"read_only"`
	Projects []string  `json:"projects,omitempty"`
	Expires  time.Time `json:"expires,omitzero"`
	LastUsed time.Time `json:"last_used,omitzero"`
	Revoked  time.Time `json:"revoked,omitzero"`
	Created  time.Time `json:"created"`
}

// Project is a set of runs with members.
type Project struct {
	Name       string     `json:"name"`
	Visibility Visibility `json:"visibility"`
	Created    time.Time  `json:"created"`
}

// Member is a user's role in a project.
type Member struct {
	Project string `json:"project"`
	User    string `json:"user"`
	Role    Role   `json:"role"`
}

// Event is one line of the audit log: who changed what, when, from where.
type Event struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
	Addr   string    `json:"addr,omitempty"`
}

// RunOwner says who created a run, in which project.
type RunOwner struct {
	Run     string    `json:"run"`
	Project string    `json:"project"`
	User    string    `json:"user"`
	Created time.Time `json:"created"`
}

// Errors that callers tell apart.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrBadCredential is every failed authentication alike, so that an
	// answer never tells which part was wrong.
	ErrBadCredential = errors.New("wrong or expired credential")
	// ErrTooMany refuses a login while its user or address is locked out.
	ErrTooMany = errors.New("too many failed logins: wait and try again")
)

// nameRE is what user and project names may be: they show in URLs,
// queries and logs. Compiled on first use, not at every start of the
// runlog command: the bounded repetition makes a large program (~60 KB).
var nameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
})

// CheckName checks a user's or project's name.
func CheckName(what, name string) error {
	if !nameRE().MatchString(name) {
		return fmt.Errorf("%s name %q: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", what, name)
	}
	return nil
}
