// Package accountstest is the conformance suite of accounts.Store: every
// implementation passes the same tests.
package accountstest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/accounts"
)

// Run runs the suite; open returns a new, empty store for each test.
func Run(t *testing.T, open func(t *testing.T) accounts.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("users", func(t *testing.T) {
		st := open(t)
		if n, err := st.CountUsers(ctx); err != nil || n != 0 {
			t.Fatalf("CountUsers of a new store: %d %v", n, err)
		}
		if err := st.CreateUser(ctx, accounts.User{Name: "ana", Admin: true, Created: t0}, "hash-a"); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, accounts.User{Name: "bo", Created: t0}, "hash-b"); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, accounts.User{Name: "ana"}, "x"); !errors.Is(err, accounts.ErrExists) {
			t.Errorf("a second ana: %v, want ErrExists", err)
		}
		u, hash, err := st.User(ctx, "ana")
		if err != nil || !u.Admin || u.Disabled || hash != "hash-a" || !u.Created.Equal(t0) {
			t.Errorf("User ana: %+v %q %v", u, hash, err)
		}
		if _, _, err := st.User(ctx, "cy"); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("User cy: %v, want ErrNotFound", err)
		}
		if err := st.SetDisabled(ctx, "bo", true); err != nil {
			t.Fatal(err)
		}
		if err := st.SetPassword(ctx, "bo", "hash-b2"); err != nil {
			t.Fatal(err)
		}
		if u, hash, _ := st.User(ctx, "bo"); !u.Disabled || hash != "hash-b2" {
			t.Errorf("bo after disable and reset: %+v %q", u, hash)
		}
		if err := st.SetDisabled(ctx, "cy", true); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("disable cy: %v", err)
		}
		us, err := st.Users(ctx)
		if err != nil || len(us) != 2 || us[0].Name != "ana" || us[1].Name != "bo" {
			t.Errorf("Users: %+v %v", us, err)
		}
		if n, _ := st.CountUsers(ctx); n != 2 {
			t.Errorf("CountUsers: %d", n)
		}
	})

	t.Run("keys", func(t *testing.T) {
		st := open(t)
		st.CreateUser(ctx, accounts.User{Name: "ana", Created: t0}, "h")
		k := accounts.Key{ID: "k1", User: "ana", Name: "laptop", Projects: []string{"p1", "p2"}, Expires: t0.Add(time.Hour), Created: t0}
		sum := []byte{0xde, 0xad, 0xbe, 0xef}
		if err := st.CreateKey(ctx, k, sum); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateKey(ctx, accounts.Key{ID: "k2", User: "nobody", Name: "x", Created: t0}, sum); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("a key of a user not there: %v, want ErrNotFound", err)
		}
		if err := st.CreateKey(ctx, accounts.Key{ID: "k1", User: "ana", Name: "x", Created: t0}, sum); !errors.Is(err, accounts.ErrExists) {
			t.Errorf("a second k1: %v, want ErrExists", err)
		}
		st.CreateKey(ctx, accounts.Key{ID: "k3", User: "ana", Name: "ci", ReadOnly: true, Created: t0.Add(time.Second)}, sum)
		got, h, err := st.Key(ctx, "k1")
		if err != nil || string(h) != string(sum) || got.Name != "laptop" || !slices.Equal(got.Projects, []string{"p1", "p2"}) ||
			!got.Expires.Equal(k.Expires) || !got.Revoked.IsZero() || !got.LastUsed.IsZero() || got.ReadOnly {
			t.Errorf("Key k1: %+v %x %v", got, h, err)
		}
		if err := st.TouchKey(ctx, "k1", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeKey(ctx, "k1", t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeKey(ctx, "k1", t0.Add(3*time.Minute)); err != nil {
			t.Errorf("revoking twice: %v", err)
		}
		if err := st.RevokeKey(ctx, "nope", t0); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("revoke nope: %v", err)
		}
		got, _, _ = st.Key(ctx, "k1")
		if !got.LastUsed.Equal(t0.Add(time.Minute)) || !got.Revoked.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("k1 after touch and revoke: %+v", got)
		}
		ks, err := st.Keys(ctx, "ana")
		if err != nil || len(ks) != 2 || ks[0].ID != "k3" || !ks[0].ReadOnly {
			t.Errorf("Keys ana: %+v %v", ks, err)
		}
		if ks, _ := st.Keys(ctx, ""); len(ks) != 2 {
			t.Errorf("Keys of everyone: %d", len(ks))
		}
		if ks, _ := st.Keys(ctx, "bo"); len(ks) != 0 {
			t.Errorf("Keys bo: %d", len(ks))
		}
	})

	t.Run("projects and members", func(t *testing.T) {
		st := open(t)
		st.CreateUser(ctx, accounts.User{Name: "ana", Created: t0}, "h")
		st.CreateUser(ctx, accounts.User{Name: "bo", Created: t0}, "h")
		if err := st.CreateProject(ctx, accounts.Project{Name: "vision", Visibility: accounts.Private, Created: t0}); err != nil {
			t.Fatal(err)
		}
		st.CreateProject(ctx, accounts.Project{Name: "audio", Visibility: accounts.Visible, Created: t0})
		if err := st.CreateProject(ctx, accounts.Project{Name: "vision", Visibility: accounts.Visible}); !errors.Is(err, accounts.ErrExists) {
			t.Errorf("a second vision: %v", err)
		}
		if err := st.SetVisibility(ctx, "vision", accounts.Visible); err != nil {
			t.Fatal(err)
		}
		if p, err := st.Project(ctx, "vision"); err != nil || p.Visibility != accounts.Visible {
			t.Errorf("vision: %+v %v", p, err)
		}
		if _, err := st.Project(ctx, "nope"); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("Project nope: %v", err)
		}
		for _, m := range []accounts.Member{mem("vision", "ana", accounts.Admin), mem("vision", "bo", accounts.Viewer), mem("audio", "bo", accounts.Writer)} {
			if err := st.SetMember(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SetMember(ctx, mem("vision", "bo", accounts.Writer)); err != nil {
			t.Fatalf("changing a role: %v", err)
		}
		if err := st.SetMember(ctx, mem("vision", "cy", accounts.Writer)); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("a member not a user: %v", err)
		}
		if err := st.SetMember(ctx, mem("nope", "bo", accounts.Writer)); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("a project not there: %v", err)
		}
		ms, _ := st.Members(ctx, "vision", "")
		if want := []accounts.Member{mem("vision", "ana", accounts.Admin), mem("vision", "bo", accounts.Writer)}; !slices.Equal(ms, want) {
			t.Errorf("members of vision: %v, want %v", ms, want)
		}
		ms, _ = st.Members(ctx, "", "bo")
		if want := []accounts.Member{mem("audio", "bo", accounts.Writer), mem("vision", "bo", accounts.Writer)}; !slices.Equal(ms, want) {
			t.Errorf("roles of bo: %v, want %v", ms, want)
		}
		if err := st.SetMember(ctx, mem("vision", "bo", "")); err != nil {
			t.Fatal(err)
		}
		if err := st.SetMember(ctx, mem("vision", "bo", "")); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("removing twice: %v", err)
		}
		if ms, _ := st.Members(ctx, "vision", ""); len(ms) != 1 {
			t.Errorf("after removing bo: %v", ms)
		}
		ps, _ := st.Projects(ctx)
		if len(ps) != 2 || ps[0].Name != "audio" {
			t.Errorf("Projects: %v", ps)
		}
	})

	t.Run("sessions", func(t *testing.T) {
		st := open(t)
		st.CreateUser(ctx, accounts.User{Name: "ana", Created: t0}, "h")
		st.CreateUser(ctx, accounts.User{Name: "bo", Created: t0}, "h")
		a, b, c := []byte{1, 2}, []byte{3, 4}, []byte{5, 6}
		st.CreateSession(ctx, a, "ana", t0.Add(time.Hour))
		st.CreateSession(ctx, b, "ana", t0.Add(time.Hour))
		st.CreateSession(ctx, c, "bo", t0.Add(-time.Hour))
		if u, exp, err := st.Session(ctx, a); err != nil || u != "ana" || !exp.Equal(t0.Add(time.Hour)) {
			t.Errorf("Session a: %q %v %v", u, exp, err)
		}
		if err := st.DeleteSession(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Session(ctx, a); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("a session ended: %v", err)
		}
		if err := st.DeleteSessions(ctx, "ana", t0); err != nil {
			t.Fatal(err)
		}
		for _, s := range [][]byte{b, c} {
			if _, _, err := st.Session(ctx, s); !errors.Is(err, accounts.ErrNotFound) {
				t.Errorf("session %x after DeleteSessions: %v", s, err)
			}
		}
	})

	t.Run("run owners and audit", func(t *testing.T) {
		st := open(t)
		if err := st.SetRunOwner(ctx, accounts.RunOwner{Run: "r1", Project: "p", User: "ana", Created: t0}); err != nil {
			t.Fatal(err)
		}
		if err := st.SetRunOwner(ctx, accounts.RunOwner{Run: "r1", Project: "q", User: "bo", Created: t0}); err != nil {
			t.Fatal(err)
		}
		if o, err := st.RunOwner(ctx, "r1"); err != nil || o.User != "ana" || o.Project != "p" {
			t.Errorf("RunOwner r1: %+v %v (the first record stays)", o, err)
		}
		if _, err := st.RunOwner(ctx, "r2"); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("RunOwner r2: %v", err)
		}
		st.SetRunOwner(ctx, accounts.RunOwner{Run: "r3", Project: "p", User: "ana", Created: t0.Add(time.Second)})
		st.SetRunOwner(ctx, accounts.RunOwner{Run: "r4", Project: "p", User: "bo", Created: t0})
		if ids, err := st.RunsBy(ctx, "ana", 10); err != nil || !slices.Equal(ids, []string{"r3", "r1"}) {
			t.Errorf("RunsBy ana: %v %v", ids, err)
		}
		if ids, _ := st.RunsBy(ctx, "ana", 1); len(ids) != 1 {
			t.Errorf("RunsBy ana, limit 1: %v", ids)
		}
		for i := range 5 {
			if err := st.Log(ctx, accounts.Event{Time: t0.Add(time.Duration(i) * time.Second), Actor: "ana", Action: "run.trash", Target: "r1", Addr: "192.0.2.1"}); err != nil {
				t.Fatal(err)
			}
		}
		es, err := st.Events(ctx, 0, 3)
		if err != nil || len(es) != 3 || es[0].Actor != "ana" || es[0].Addr != "192.0.2.1" || !es[1].Time.Equal(t0.Add(time.Second)) {
			t.Fatalf("Events: %+v %v", es, err)
		}
		rest, _ := st.Events(ctx, es[2].Seq, 10)
		if len(rest) != 2 || rest[0].Seq <= es[2].Seq {
			t.Errorf("Events after %d: %+v", es[2].Seq, rest)
		}
	})
}

func mem(project, user string, role accounts.Role) accounts.Member {
	return accounts.Member{Project: project, User: user, Role: role}
}
