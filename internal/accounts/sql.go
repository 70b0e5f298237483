package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is what differs between SQLite and PostgreSQL.
type dialect struct {
	name   string
	serial string // an auto-incrementing integer primary key
	// lock, run first in a migration's transaction, keeps replicas that
	// start together from migrating at once; "" where the transaction
	// itself is exclusive.
	lock string
	// dollar: placeholders are $1, $2… rather than ?.
	dollar bool
}

var (
	sqliteDialect   = dialect{name: "sqlite", serial: "INTEGER PRIMARY KEY AUTOINCREMENT"}
	postgresDialect = dialect{name: "postgres", serial: "BIGSERIAL PRIMARY KEY",
		lock: "SELECT pg_advisory_xact_lock(8247216591502458881)", dollar: true} // "runlog" and 0x0101
)

// migrations are applied in order, each in its own transaction, and only
// ever appended. {{serial}} is the dialect's auto-incrementing key.
var migrations = []string{`
CREATE TABLE users (
	name TEXT PRIMARY KEY,
	password TEXT NOT NULL,
	admin INTEGER NOT NULL DEFAULT 0,
	disabled INTEGER NOT NULL DEFAULT 0,
	created BIGINT NOT NULL
);
CREATE TABLE api_keys (
	id TEXT PRIMARY KEY,
	user_name TEXT NOT NULL REFERENCES users(name),
	name TEXT NOT NULL,
	secret_hash TEXT NOT NULL,
	read_only INTEGER NOT NULL,
	projects TEXT NOT NULL DEFAULT '',
	expires BIGINT NOT NULL DEFAULT 0,
	last_used BIGINT NOT NULL DEFAULT 0,
	revoked BIGINT NOT NULL DEFAULT 0,
	created BIGINT NOT NULL
);
CREATE INDEX api_keys_user ON api_keys(user_name);
CREATE TABLE projects (
	name TEXT PRIMARY KEY,
	visibility TEXT NOT NULL,
	created BIGINT NOT NULL
);
CREATE TABLE members (
	project TEXT NOT NULL REFERENCES projects(name),
	user_name TEXT NOT NULL REFERENCES users(name),
	role TEXT NOT NULL,
	PRIMARY KEY (project, user_name)
);
CREATE INDEX members_user ON members(user_name);
CREATE TABLE sessions (
	id TEXT PRIMARY KEY,
	user_name TEXT NOT NULL REFERENCES users(name),
	expires BIGINT NOT NULL
);
CREATE TABLE run_owners (
	run_id TEXT PRIMARY KEY,
	project TEXT NOT NULL,
	user_name TEXT NOT NULL,
	created BIGINT NOT NULL
);
CREATE INDEX run_owners_user ON run_owners(user_name, created);
CREATE TABLE audit (
	seq {{serial}},
	time BIGINT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	detail TEXT NOT NULL,
	addr TEXT NOT NULL
);
`}

// sqlStore is the Store of both dialects.
type sqlStore struct {
	db *sql.DB
	d  dialect
}

// OpenSQLite opens (creating it if need be) the accounts file at path,
// normally layout.Accounts(home).
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_journal_mode", "WAL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open accounts %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	s := &sqlStore{db: db, d: sqliteDialect}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open accounts %s: %w", path, err)
	}
	return s, nil
}

// OpenPostgres opens the accounts' tables in the PostgreSQL database dsn
// names (the team store's), creating them if need be.
func OpenPostgres(ctx context.Context, dsn string) (Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open accounts: the PostgreSQL address is not valid")
	}
	db.SetMaxOpenConns(8)
	s := &sqlStore{db: db, d: postgresDialect}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open accounts: %w", err)
	}
	return s, nil
}

// migrate applies the migrations the database has not seen.
func (s *sqlStore) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS accounts_schema (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for {
		done, err := s.migrateOne(ctx)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next migration, if any, in a transaction.
func (s *sqlStore) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if s.d.lock != "" {
		if _, err := tx.ExecContext(ctx, s.d.lock); err != nil {
			return false, fmt.Errorf("migrate: %w", err)
		}
	}
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM accounts_schema`).Scan(&v); err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	n := int(v.Int64)
	if n > len(migrations) {
		return false, fmt.Errorf("the accounts' schema is version %d, newer than this runlog's %d: upgrade runlog", n, len(migrations))
	}
	if n == len(migrations) {
		return true, nil
	}
	ddl := strings.ReplaceAll(migrations[n], "{{serial}}", s.d.serial)
	if _, err := tx.ExecContext(ctx, ddl); err != nil {
		return false, fmt.Errorf("migration %d: %w", n+1, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO accounts_schema (version) VALUES (?)`), n+1); err != nil {
		return false, fmt.Errorf("migration %d: %w", n+1, err)
	}
	return false, tx.Commit()
}

// q writes a query's ? placeholders in the dialect's form.
func (s *sqlStore) q(query string) string {
	if !s.d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (s *sqlStore) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// mapErr turns the databases' constraint errors into ErrExists and
// ErrNotFound (a reference to a user or project that is not there).
func mapErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return ErrExists
		case "23503":
			return ErrNotFound
		}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return ErrExists
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return ErrNotFound
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// affected turns an update of no row into ErrNotFound.
func affected(n int64, err error) error {
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *sqlStore) CreateUser(ctx context.Context, u User, hash string) error {
	_, err := s.exec(ctx, `INSERT INTO users (name, password, admin, disabled, created) VALUES (?, ?, ?, ?, ?)`,
		u.Name, hash, bit(u.Admin), bit(u.Disabled), ms(u.Created))
	return err
}

func (s *sqlStore) User(ctx context.Context, name string) (User, string, error) {
	var u User
	var hash string
	var admin, disabled int
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT name, password, admin, disabled, created FROM users WHERE name = ?`), name).
		Scan(&u.Name, &hash, &admin, &disabled, &created)
	if err != nil {
		return User{}, "", mapErr(err)
	}
	u.Admin, u.Disabled, u.Created = admin == 1, disabled == 1, fromMS(created)
	return u, hash, nil
}

func (s *sqlStore) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, admin, disabled, created FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var admin, disabled int
		var created int64
		if err := rows.Scan(&u.Name, &admin, &disabled, &created); err != nil {
			return nil, err
		}
		u.Admin, u.Disabled, u.Created = admin == 1, disabled == 1, fromMS(created)
		out = append(out, u)
	}
	return out, rows.Err()
}

func (s *sqlStore) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

func (s *sqlStore) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return affected(s.exec(ctx, `UPDATE users SET disabled = ? WHERE name = ?`, bit(disabled), name))
}

func (s *sqlStore) SetPassword(ctx context.Context, name, hash string) error {
	return affected(s.exec(ctx, `UPDATE users SET password = ? WHERE name = ?`, hash, name))
}

func (s *sqlStore) CreateKey(ctx context.Context, k Key, secretHash []byte) error {
	_, err := s.exec(ctx, `INSERT INTO api_keys (id, user_name, name, secret_hash, read_only, projects, expires, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.User, k.Name, fmt.Sprintf("%x", secretHash), bit(k.ReadOnly), strings.Join(k.Projects, ","), ms(k.Expires), ms(k.Created))
	return err
}

const keyColumns = `id, user_name, name, secret_hash, read_only, projects, expires, last_used, revoked, created`

func scanKey(scan func(...any) error) (Key, []byte, error) {
	var k Key
	var hash, projects string
	var readOnly int
	var expires, lastUsed, revoked, created int64
	if err := scan(&k.ID, &k.User, &k.Name, &hash, &readOnly, &projects, &expires, &lastUsed, &revoked, &created); err != nil {
		return Key{}, nil, mapErr(err)
	}
	k.ReadOnly = readOnly == 1
	if projects != "" {
		k.Projects = strings.Split(projects, ",")
	}
	k.Expires, k.LastUsed, k.Revoked, k.Created = fromMS(expires), fromMS(lastUsed), fromMS(revoked), fromMS(created)
	var sum []byte
	if _, err := fmt.Sscanf(hash, "%x", &sum); err != nil {
		return Key{}, nil, fmt.Errorf("key %s: its hash is not hex", k.ID)
	}
	return k, sum, nil
}

func (s *sqlStore) Key(ctx context.Context, id string) (Key, []byte, error) {
	return scanKey(s.db.QueryRowContext(ctx, s.q(`SELECT `+keyColumns+` FROM api_keys WHERE id = ?`), id).Scan)
}

func (s *sqlStore) Keys(ctx context.Context, user string) ([]Key, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+keyColumns+` FROM api_keys WHERE ? = '' OR user_name = ? ORDER BY created DESC, id`), user, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		k, _, err := scanKey(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *sqlStore) RevokeKey(ctx context.Context, id string, t time.Time) error {
	if err := affected(s.exec(ctx, `UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked = 0`, ms(t), id)); err != ErrNotFound {
		return err
	}
	_, _, err := s.Key(ctx, id) // revoked already, or not there
	return err
}

func (s *sqlStore) TouchKey(ctx context.Context, id string, t time.Time) error {
	return affected(s.exec(ctx, `UPDATE api_keys SET last_used = ? WHERE id = ?`, ms(t), id))
}

func (s *sqlStore) CreateProject(ctx context.Context, p Project) error {
	_, err := s.exec(ctx, `INSERT INTO projects (name, visibility, created) VALUES (?, ?, ?)`, p.Name, string(p.Visibility), ms(p.Created))
	return err
}

func (s *sqlStore) Project(ctx context.Context, name string) (Project, error) {
	var p Project
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT name, visibility, created FROM projects WHERE name = ?`), name).Scan(&p.Name, &p.Visibility, &created)
	p.Created = fromMS(created)
	return p, mapErr(err)
}

func (s *sqlStore) Projects(ctx context.Context) ([]Project, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, visibility, created FROM projects ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Project
	for rows.Next() {
		var p Project
		var created int64
		if err := rows.Scan(&p.Name, &p.Visibility, &created); err != nil {
			return nil, err
		}
		p.Created = fromMS(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *sqlStore) SetVisibility(ctx context.Context, name string, v Visibility) error {
	return affected(s.exec(ctx, `UPDATE projects SET visibility = ? WHERE name = ?`, string(v), name))
}

func (s *sqlStore) SetMember(ctx context.Context, m Member) error {
	if m.Role == "" {
		return affected(s.exec(ctx, `DELETE FROM members WHERE project = ? AND user_name = ?`, m.Project, m.User))
	}
	_, err := s.exec(ctx, `INSERT INTO members (project, user_name, role) VALUES (?, ?, ?)
		ON CONFLICT (project, user_name) DO UPDATE SET role = excluded.role`, m.Project, m.User, string(m.Role))
	return err
}

func (s *sqlStore) Members(ctx context.Context, project, user string) ([]Member, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT project, user_name, role FROM members
		WHERE (? = '' OR project = ?) AND (? = '' OR user_name = ?) ORDER BY project, user_name`), project, project, user, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.Project, &m.User, &m.Role); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *sqlStore) CreateSession(ctx context.Context, tokenHash []byte, user string, expires time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO sessions (id, user_name, expires) VALUES (?, ?, ?)`, fmt.Sprintf("%x", tokenHash), user, ms(expires))
	return err
}

func (s *sqlStore) Session(ctx context.Context, tokenHash []byte) (string, time.Time, error) {
	var user string
	var expires int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT user_name, expires FROM sessions WHERE id = ?`), fmt.Sprintf("%x", tokenHash)).Scan(&user, &expires)
	return user, fromMS(expires), mapErr(err)
}

func (s *sqlStore) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE id = ?`, fmt.Sprintf("%x", tokenHash))
	return err
}

func (s *sqlStore) DeleteSessions(ctx context.Context, user string, t time.Time) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE user_name = ? OR expires < ?`, user, ms(t))
	return err
}

func (s *sqlStore) SetRunOwner(ctx context.Context, o RunOwner) error {
	_, err := s.exec(ctx, `INSERT INTO run_owners (run_id, project, user_name, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (run_id) DO NOTHING`, o.Run, o.Project, o.User, ms(o.Created))
	return err
}

func (s *sqlStore) RunOwner(ctx context.Context, run string) (RunOwner, error) {
	var o RunOwner
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT run_id, project, user_name, created FROM run_owners WHERE run_id = ?`), run).
		Scan(&o.Run, &o.Project, &o.User, &created)
	o.Created = fromMS(created)
	return o, mapErr(err)
}

func (s *sqlStore) RunsBy(ctx context.Context, user string, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT run_id FROM run_owners WHERE user_name = ? ORDER BY created DESC, run_id LIMIT ?`), user, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (s *sqlStore) Log(ctx context.Context, e Event) error {
	_, err := s.exec(ctx, `INSERT INTO audit (time, actor, action, target, detail, addr) VALUES (?, ?, ?, ?, ?, ?)`,
		ms(e.Time), e.Actor, e.Action, e.Target, e.Detail, e.Addr)
	return err
}

func (s *sqlStore) Events(ctx context.Context, after int64, limit int) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT seq, time, actor, action, target, detail, addr FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`), after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var t int64
		if err := rows.Scan(&e.Seq, &t, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Addr); err != nil {
			return nil, err
		}
		e.Time = fromMS(t)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *sqlStore) Close() error { return s.db.Close() }
