package accounts

import (
	"context"
	"time"
)

// Store holds the accounts' tables. Secrets never reach it: passwords
// arrive hashed with bcrypt, keys and session tokens as SHA-256 of their
// secrets. Every method returns ErrNotFound for a name that is not there
// and ErrExists for one that is already.
type Store interface {
	// CreateUser adds a user with a password hash.
	CreateUser(ctx context.Context, u User, passwordHash string) error
	// User returns a user and the hash of its password.
	User(ctx context.Context, name string) (User, string, error)
	// Users lists the users by name.
	Users(ctx context.Context) ([]User, error)
	// CountUsers says how many users there are.
	CountUsers(ctx context.Context) (int, error)
	// SetDisabled disables or enables a user.
	SetDisabled(ctx context.Context, name string, disabled bool) error
	// SetPassword replaces a user's password hash.
	SetPassword(ctx context.Context, name, passwordHash string) error

	// CreateKey adds a key with the SHA-256 of its secret.
	CreateKey(ctx context.Context, k Key, secretHash []byte) error
	// Key returns a key by its id, with the SHA-256 of its secret.
	Key(ctx context.Context, id string) (Key, []byte, error)
	// Keys lists the keys of a user, or of everyone for "", newest first.
	Keys(ctx context.Context, user string) ([]Key, error)
	// RevokeKey revokes a key at t; revoking twice keeps the first time.
	RevokeKey(ctx context.Context, id string, t time.Time) error
	// TouchKey sets a key's last-used time.
	TouchKey(ctx context.Context, id string, t time.Time) error

	// CreateProject adds a project.
	CreateProject(ctx context.Context, p Project) error
	// Project returns a project.
	Project(ctx context.Context, name string) (Project, error)
	// Projects lists the projects by name.
	Projects(ctx context.Context) ([]Project, error)
	// SetVisibility changes a project's visibility.
	SetVisibility(ctx context.Context, name string, v Visibility) error
	// SetMember gives a user a role in a project; role "" removes it.
	SetMember(ctx context.Context, m Member) error
	// Members lists a project's members by user, or a user's roles by
	// project when project is "" and user is not.
	Members(ctx context.Context, project, user string) ([]Member, error)

	// CreateSession adds a browser session by the SHA-256 of its token.
	CreateSession(ctx context.Context, tokenHash []byte, user string, expires time.Time) error
	// Session returns the user and expiry of a session.
	Session(ctx context.Context, tokenHash []byte) (string, time.Time, error)
	// DeleteSession ends a session; ending one that is gone is no error.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// DeleteSessions ends every session of a user, and those expired
	// before t of everyone.
	DeleteSessions(ctx context.Context, user string, t time.Time) error

	// SetRunOwner records who created a run; the first record stays.
	SetRunOwner(ctx context.Context, o RunOwner) error
	// RunOwner returns who created a run.
	RunOwner(ctx context.Context, run string) (RunOwner, error)
	// RunsBy lists the ids of up to limit runs a user created, newest
	// first.
	RunsBy(ctx context.Context, user string, limit int) ([]string, error)

	// Log appends an event to the audit log.
	Log(ctx context.Context, e Event) error
	// Events returns up to limit events after seq, oldest first.
	Events(ctx context.Context, after int64, limit int) ([]Event, error)

	// Close closes the store.
	Close() error
}
