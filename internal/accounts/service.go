package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// KeyPrefix starts every API key: rlk_<id>_<secret>. The prefix lets
// secret scanners find leaked keys, and the server tell keys from the
// shared token.
const KeyPrefix = "rlk_"

// SessionTTL is how long a browser session lasts.
const SessionTTL = 12 * time.Hour

// MinPassword is the fewest characters of a password; bcrypt reads at
// most 72 bytes, so longer ones are refused rather than cut.
const (
	MinPassword = 10
	MaxPassword = 72
)

// Accounts is the logic of accounts over a Store: every change it makes
// is written to the audit log with its Actor.
type Accounts struct {
	st     Store
	now    func() time.Time
	cost   int
	limits *limiter
}

// Options tune Accounts; the zero value is what a server uses.
type Options struct {
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// BcryptCost is bcrypt's cost; 0 means bcrypt.DefaultCost. Tests use
	// bcrypt.MinCost.
	BcryptCost int
	// Login limits failed logins; the zero value means DefaultLimits.
	Login Limits
}

// New returns the accounts of st.
func New(st Store, opt Options) *Accounts {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.BcryptCost == 0 {
		opt.BcryptCost = bcrypt.DefaultCost
	}
	if opt.Login == (Limits{}) {
		opt.Login = DefaultLimits
	}
	return &Accounts{st: st, now: opt.Now, cost: opt.BcryptCost, limits: newLimiter(opt.Login, opt.Now)}
}

// Store returns the store, for listings.
func (a *Accounts) Store() Store { return a.st }

// Actor is who makes a change, and from where, for the audit log.
type Actor struct {
	Name string // the user; "runlog" for the command line on the server's machine
	Addr string // the remote address, "" for the command line
}

// CLI is the actor of commands run on the server's machine, which reach
// the accounts' file or database directly.
var CLI = Actor{Name: "cli"}

func (a *Accounts) audit(ctx context.Context, by Actor, action, target, detail string) error {
	if err := a.st.Log(ctx, Event{Time: a.now(), Actor: by.Name, Action: action, Target: target, Detail: detail, Addr: by.Addr}); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// Audit records a change made elsewhere (a run deleted or renamed).
func (a *Accounts) Audit(ctx context.Context, by Actor, action, target, detail string) error {
	return a.audit(ctx, by, action, target, detail)
}

func checkPassword(pw string) error {
	if n := len([]rune(pw)); n < MinPassword {
		return fmt.Errorf("password: %d characters, at least %d are needed", n, MinPassword)
	}
	if len(pw) > MaxPassword {
		return fmt.Errorf("password: more than %d bytes, which bcrypt would cut", MaxPassword)
	}
	return nil
}

// NewPassword returns a random password of 24 characters.
func NewPassword() string { return randomText(15) }

// randomText returns n random bytes as lower-case base32.
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// AddUser creates a user with a password.
func (a *Accounts) AddUser(ctx context.Context, by Actor, name, password string, admin bool) error {
	if err := CheckName("user", name); err != nil {
		return err
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.cost)
	if err != nil {
		return err
	}
	if err := a.st.CreateUser(ctx, User{Name: name, Admin: admin, Created: a.now()}, string(hash)); err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	return a.audit(ctx, by, "user.add", name, map[bool]string{true: "admin"}[admin])
}

// Bootstrap makes the first admin, "admin", when no user administers the
// server: with password, or a random one when it is "". It returns the
// password it set, or "" when there was an admin already.
func (a *Accounts) Bootstrap(ctx context.Context, password string) (string, error) {
	us, err := a.st.Users(ctx)
	if err != nil {
		return "", err
	}
	for _, u := range us {
		if u.Admin {
			return "", nil
		}
	}
	if password == "" {
		password = NewPassword()
	}
	if err := a.AddUser(ctx, Actor{Name: "bootstrap"}, "admin", password, true); err != nil {
		if errors.Is(err, ErrExists) { // another replica made it first
			return "", nil
		}
		return "", err
	}
	return password, nil
}

// SetDisabled disables or enables a user; disabling ends its sessions.
// Its keys stay, refused while it is disabled.
func (a *Accounts) SetDisabled(ctx context.Context, by Actor, name string, disabled bool) error {
	if err := a.st.SetDisabled(ctx, name, disabled); err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	action := "user.enable"
	if disabled {
		action = "user.disable"
		if err := a.st.DeleteSessions(ctx, name, a.now()); err != nil {
			return err
		}
	}
	return a.audit(ctx, by, action, name, "")
}

// ResetPassword sets a user's password and ends its sessions.
func (a *Accounts) ResetPassword(ctx context.Context, by Actor, name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.cost)
	if err != nil {
		return err
	}
	if err := a.st.SetPassword(ctx, name, string(hash)); err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	if err := a.st.DeleteSessions(ctx, name, a.now()); err != nil {
		return err
	}
	return a.audit(ctx, by, "user.reset", name, "")
}

// dummyHash is compared against when a user is not there, so that a
// missing user takes as long as a wrong password. It is made on first use:
// made when the package loads, it cost every runlog command ~60 ms of CPU.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("runlog dummy password"), bcrypt.DefaultCost)
	return h
})

// Password checks a user's password, without the login limit (basic
// auth of API clients, which send it on every request, is limited by the
// caller through Login's limiter too).
func (a *Accounts) Password(ctx context.Context, name, password string) (User, error) {
	u, hash, err := a.st.User(ctx, name)
	if errors.Is(err, ErrNotFound) {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return User{}, ErrBadCredential
	}
	if err != nil {
		return User{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || u.Disabled {
		return User{}, ErrBadCredential
	}
	return u, nil
}

// Login checks a password under the limit on failed attempts per user
// and per address. It returns the delay the caller waits before
// answering a failure (0 while the first attempts fail), and ErrTooMany,
// without checking the password, while the user or address is locked out.
func (a *Accounts) Login(ctx context.Context, name, password, addr string) (User, time.Duration, error) {
	if wait := a.limits.locked(name, addr); wait > 0 {
		return User{}, wait, ErrTooMany
	}
	u, err := a.Password(ctx, name, password)
	if errors.Is(err, ErrBadCredential) {
		return User{}, a.limits.fail(name, addr), err
	}
	if err != nil {
		return User{}, 0, err
	}
	a.limits.succeed(name, addr)
	return u, 0, nil
}

// NewSession starts a browser session for a user and returns its token,
// which only the cookie holds.
func (a *Accounts) NewSession(ctx context.Context, user string) (string, time.Time, error) {
	token := randomText(32)
	expires := a.now().Add(SessionTTL)
	sum := sha256.Sum256([]byte(token))
	if err := a.st.CreateSession(ctx, sum[:], user, expires); err != nil {
		return "", time.Time{}, err
	}
	return token, expires, nil
}

// EndSession ends a session (logout).
func (a *Accounts) EndSession(ctx context.Context, token string) error {
	sum := sha256.Sum256([]byte(token))
	return a.st.DeleteSession(ctx, sum[:])
}

// Session returns the principal of a session's token.
func (a *Accounts) Session(ctx context.Context, token string) (*Principal, error) {
	sum := sha256.Sum256([]byte(token))
	name, expires, err := a.st.Session(ctx, sum[:])
	if errors.Is(err, ErrNotFound) || (err == nil && !a.now().Before(expires)) {
		return nil, ErrBadCredential
	}
	if err != nil {
		return nil, err
	}
	return a.principal(ctx, name, nil)
}

// KeyScope is what a new key may do.
type KeyScope struct {
	ReadOnly bool
	Projects []string // write only to these; none: wherever the user may
}

// NewKey makes an API key for a user and returns it whole: the only time
// its secret is seen. expires zero means it does not expire.
func (a *Accounts) NewKey(ctx context.Context, by Actor, user, name string, scope KeyScope, expires time.Time) (string, Key, error) {
	if name == "" {
		return "", Key{}, errors.New("key: give it a name, such as the machine or job it is for")
	}
	for _, p := range scope.Projects {
		if err := CheckName("project", p); err != nil {
			return "", Key{}, err
		}
	}
	if scope.ReadOnly && len(scope.Projects) > 0 {
		return "", Key{}, errors.New("key: a read-only key writes to no project")
	}
	id, secret := randomText(5), randomText(20)
	sum := sha256.Sum256([]byte(secret))
	k := Key{ID: id, User: user, Name: name, ReadOnly: scope.ReadOnly, Projects: scope.Projects, Expires: expires, Created: a.now()}
	if err := a.st.CreateKey(ctx, k, sum[:]); err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", Key{}, fmt.Errorf("user %s: %w", user, err)
		}
		return "", Key{}, err
	}
	detail := "name=" + name
	if scope.ReadOnly {
		detail += " read-only"
	} else if len(scope.Projects) > 0 {
		detail += " write=" + strings.Join(scope.Projects, ",")
	}
	if err := a.audit(ctx, by, "key.add", user+"/"+id, detail); err != nil {
		return "", Key{}, err
	}
	return KeyPrefix + id + "_" + secret, k, nil
}

// RevokeKey revokes a key: every request with it is refused from then on.
func (a *Accounts) RevokeKey(ctx context.Context, by Actor, id string) error {
	id = strings.TrimPrefix(id, KeyPrefix)
	id, _, _ = strings.Cut(id, "_") // the whole key pasted
	if err := a.st.RevokeKey(ctx, id, a.now()); err != nil {
		return fmt.Errorf("key %s: %w", id, err)
	}
	return a.audit(ctx, by, "key.revoke", id, "")
}

// touchEvery is how often a key's last-used time is written.
const touchEvery = time.Minute

// Key returns the principal of an API key, read from the store at each
// call: a key revoked, expired or whose user is disabled is refused at
// once, on every replica.
func (a *Accounts) Key(ctx context.Context, key string) (*Principal, error) {
	rest, ok := strings.CutPrefix(key, KeyPrefix)
	id, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 {
		return nil, ErrBadCredential
	}
	k, want, err := a.st.Key(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrBadCredential
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(secret))
	now := a.now()
	if subtle.ConstantTimeCompare(sum[:], want) != 1 || !k.Revoked.IsZero() || (!k.Expires.IsZero() && !now.Before(k.Expires)) {
		return nil, ErrBadCredential
	}
	if now.Sub(k.LastUsed) >= touchEvery {
		if err := a.st.TouchKey(ctx, k.ID, now); err != nil {
			return nil, err
		}
	}
	return a.principal(ctx, k.User, &k)
}

// UserPrincipal returns the principal of a user who proved itself some
// other way (a password).
func (a *Accounts) UserPrincipal(ctx context.Context, name string) (*Principal, error) {
	return a.principal(ctx, name, nil)
}

func (a *Accounts) principal(ctx context.Context, name string, k *Key) (*Principal, error) {
	u, _, err := a.st.User(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrBadCredential
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, ErrBadCredential
	}
	ms, err := a.st.Members(ctx, "", name)
	if err != nil {
		return nil, err
	}
	ps, err := a.st.Projects(ctx)
	if err != nil {
		return nil, err
	}
	p := &Principal{User: u, Key: k, roles: map[string]Role{}, visible: map[string]bool{}}
	for _, m := range ms {
		p.roles[m.Project] = m.Role
	}
	for _, pr := range ps {
		p.visible[pr.Name] = pr.Visibility == Visible
		p.projects = append(p.projects, pr.Name)
	}
	return p, nil
}

// AddProject creates a project.
func (a *Accounts) AddProject(ctx context.Context, by Actor, name string, v Visibility) error {
	if err := CheckName("project", name); err != nil {
		return err
	}
	if err := a.st.CreateProject(ctx, Project{Name: name, Visibility: v, Created: a.now()}); err != nil {
		return fmt.Errorf("project %s: %w", name, err)
	}
	return a.audit(ctx, by, "project.add", name, string(v))
}

// SetVisibility changes a project's visibility.
func (a *Accounts) SetVisibility(ctx context.Context, by Actor, name string, v Visibility) error {
	if err := a.st.SetVisibility(ctx, name, v); err != nil {
		return fmt.Errorf("project %s: %w", name, err)
	}
	return a.audit(ctx, by, "project.visibility", name, string(v))
}

// SetMember gives a user a role in a project, or takes it ("").
func (a *Accounts) SetMember(ctx context.Context, by Actor, project, user string, role Role) error {
	if err := a.st.SetMember(ctx, Member{Project: project, User: user, Role: role}); err != nil {
		return fmt.Errorf("member %s of %s: %w", user, project, err)
	}
	detail := string(role)
	if role == "" {
		detail = "removed"
	}
	return a.audit(ctx, by, "project.member", project+"/"+user, detail)
}

// SetRunOwner records that a user created a run in a project.
func (a *Accounts) SetRunOwner(ctx context.Context, run, project, user string) error {
	return a.st.SetRunOwner(ctx, RunOwner{Run: run, Project: project, User: user, Created: a.now()})
}

// Principal is who a request comes from: a user, through one of its keys
// or a session or password, with its roles as they were when it was read.
type Principal struct {
	User     User
	Key      *Key // the key used, or nil
	roles    map[string]Role
	visible  map[string]bool
	projects []string
}

// Role returns the user's role in a project ("" for none); a server admin
// is an admin of every project.
func (p *Principal) Role(project string) Role {
	if p.User.Admin {
		return Admin
	}
	return p.roles[project]
}

// CanRead reports whether the principal reads a project's runs.
func (p *Principal) CanRead(project string) bool {
	return p.Role(project).rank() >= Viewer.rank() || p.visible[project]
}

// CanWrite reports whether the principal logs runs to a project, as its
// role and its key's scope both allow.
func (p *Principal) CanWrite(project string) bool {
	return p.keyWrites(project) && p.Role(project).rank() >= Writer.rank()
}

// CanManage reports whether the principal changes any run of a project
// and its members.
func (p *Principal) CanManage(project string) bool {
	return p.keyWrites(project) && p.Role(project).rank() >= Admin.rank()
}

// CanChangeRun reports whether the principal changes (annotates, deletes)
// a run: its own as a writer, anyone's as an admin.
func (p *Principal) CanChangeRun(project, owner string) bool {
	return p.CanManage(project) || (p.CanWrite(project) && owner == p.User.Name)
}

func (p *Principal) keyWrites(project string) bool {
	if p.Key == nil {
		return true
	}
	return !p.Key.ReadOnly && (len(p.Key.Projects) == 0 || slices.Contains(p.Key.Projects, project))
}

// Readable lists the projects the principal reads.
func (p *Principal) Readable() []string {
	var out []string
	for _, name := range p.projects {
		if p.CanRead(name) {
			out = append(out, name)
		}
	}
	return out
}

// Writes reports whether the principal may write anything at all.
func (p *Principal) Writes() bool { return p.Key == nil || !p.Key.ReadOnly }
