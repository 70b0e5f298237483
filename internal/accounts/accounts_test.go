package accounts_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/accounts"
	"github.com/runlog/runlog/internal/accounts/accountstest"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openSQLite(t *testing.T) accounts.Store {
	st, err := accounts.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPostgres(t *testing.T) accounts.Store {
	st, err := accounts.OpenPostgres(context.Background(), pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSQLite(t *testing.T)   { accountstest.Run(t, openSQLite) }
func TestPostgres(t *testing.T) { accountstest.Run(t, openPostgres) }

// TestReplicasPostgres: two replicas, each with its own connections to
// the same PostgreSQL database, as runlog server's replicas are: a key made
// on one works on the other, and revoked on one is refused by the other at
// its next use; a user disabled on one is refused by the other.
func TestReplicasPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	open := func() *accounts.Accounts {
		st, err := accounts.OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return accounts.New(st, accounts.Options{BcryptCost: 4})
	}
	a, b := open(), open()
	if err := a.AddUser(ctx, accounts.CLI, "ana", "password-of-ana", false); err != nil {
		t.Fatal(err)
	}
	key, k, err := a.NewKey(ctx, accounts.CLI, "ana", "laptop", accounts.KeyScope{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := b.Key(ctx, key); err != nil || p.User.Name != "ana" {
		t.Fatalf("the key on replica b: %v %v", p, err)
	}
	if err := a.RevokeKey(ctx, accounts.CLI, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Key(ctx, key); !errors.Is(err, accounts.ErrBadCredential) {
		t.Errorf("the revoked key on replica b: %v", err)
	}
	key2, _, _ := a.NewKey(ctx, accounts.CLI, "ana", "ci", accounts.KeyScope{}, time.Time{})
	if err := b.SetDisabled(ctx, accounts.CLI, "ana", true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Key(ctx, key2); !errors.Is(err, accounts.ErrBadCredential) {
		t.Errorf("a disabled user's key on replica a: %v", err)
	}
	// Both replicas bootstrap, one after the other: one admin is made.
	pw1, err1 := a.Bootstrap(ctx, "")
	pw2, err2 := b.Bootstrap(ctx, "")
	if err1 != nil || err2 != nil || (pw1 == "") == (pw2 == "") {
		t.Errorf("bootstrap on two replicas: %q %v, %q %v", pw1, err1, pw2, err2)
	}
}

// TestKeysAndLimits: keys expire, are scoped, and hold no secret in the
// store; failed logins are free, then slowed, then refused until the
// window passes, for a user name and for an address.
func TestKeysAndLimits(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	acc := accounts.New(openSQLite(t), accounts.Options{Now: clock, BcryptCost: 4,
		Login: accounts.Limits{Free: 2, Max: 4, Window: time.Minute, Delay: time.Second}})
	acc.AddUser(ctx, accounts.CLI, "ana", "password-of-ana", false)
	acc.AddProject(ctx, accounts.CLI, "lab", accounts.Private)
	acc.AddProject(ctx, accounts.CLI, "other", accounts.Private)
	acc.SetMember(ctx, accounts.CLI, "lab", "ana", accounts.Writer)
	acc.SetMember(ctx, accounts.CLI, "other", "ana", accounts.Writer)
	key, _, err := acc.NewKey(ctx, accounts.CLI, "ana", "ci", accounts.KeyScope{Projects: []string{"lab"}}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	p, err := acc.Key(ctx, key)
	if err != nil || !p.CanWrite("lab") || p.CanWrite("other") || !p.CanRead("other") {
		t.Errorf("a key scoped to lab: %v (lab %v, other %v)", err, p != nil && p.CanWrite("lab"), p != nil && p.CanWrite("other"))
	}
	now = now.Add(time.Hour)
	if _, err := acc.Key(ctx, key); !errors.Is(err, accounts.ErrBadCredential) {
		t.Errorf("an expired key: %v", err)
	}
	if _, err := acc.Key(ctx, key[:len(key)-1]+"x"); !errors.Is(err, accounts.ErrBadCredential) {
		t.Errorf("a key with a wrong secret: %v", err)
	}
	var delays []time.Duration
	for range 4 {
		_, d, err := acc.Login(ctx, "ana", "wrong", "192.0.2.1")
		if !errors.Is(err, accounts.ErrBadCredential) {
			t.Fatalf("a wrong password: %v", err)
		}
		delays = append(delays, d)
	}
	if want := []time.Duration{0, 0, time.Second, 2 * time.Second}; !slices.Equal(delays, want) {
		t.Errorf("delays %v, want %v", delays, want)
	}
	if _, _, err := acc.Login(ctx, "ana", "password-of-ana", "192.0.2.9"); !errors.Is(err, accounts.ErrTooMany) {
		t.Errorf("the right password from another address, the user locked out: %v", err)
	}
	if _, _, err := acc.Login(ctx, "bo", "whatever-password", "192.0.2.1"); !errors.Is(err, accounts.ErrTooMany) {
		t.Errorf("another user from the locked-out address: %v", err)
	}
	now = now.Add(time.Minute)
	if _, _, err := acc.Login(ctx, "ana", "password-of-ana", "192.0.2.1"); err != nil {
		t.Errorf("the right password after the window: %v", err)
	}
}
