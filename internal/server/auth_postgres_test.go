package server

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/accounts"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
	"golang.org/x/crypto/bcrypt"
)

// TestAccountsOnPostgres: accounts on a team server, store and accounts
// in one PostgreSQL database, with two replicas: a run ingested through
// one by a writer is read by a viewer through the other and not by
// another project's writer; a key revoked through one replica is refused
// by the other at its next request; and a pg_dump of the database holds
// no password or key in clear.
func TestAccountsOnPostgres(t *testing.T) {
	if pgtest.Bin() == "" {
		t.Skip("PostgreSQL is not installed")
	}
	ctx := context.Background()
	cluster, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Stop(); cluster.Remove() })
	dsn, err := pgtest.CreateDatabase(ctx, cluster.DSN("postgres"), "accounts")
	if err != nil {
		t.Fatal(err)
	}
	replica := func() (*accounts.Accounts, string) {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		st, err := accounts.OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		acc := accounts.New(st, accounts.Options{BcryptCost: bcrypt.MinCost})
		_, ts := newTestServer(t, t.TempDir(), Options{Addr: "0.0.0.0:7707", Team: db, Accounts: acc})
		return acc, ts.URL
	}
	acc, url1 := replica()
	_, url2 := replica()
	by := accounts.CLI
	for _, u := range []string{"wanda", "vera", "otto"} {
		if err := acc.AddUser(ctx, by, u, "password-of-"+u, false); err != nil {
			t.Fatal(err)
		}
	}
	acc.AddProject(ctx, by, "lab", accounts.Private)
	acc.SetMember(ctx, by, "lab", "wanda", accounts.Writer)
	acc.SetMember(ctx, by, "lab", "vera", accounts.Viewer)
	keys := map[string]string{}
	for _, u := range []string{"wanda", "vera", "otto"} {
		keys[u], _, _ = acc.NewKey(ctx, by, u, "k", accounts.KeyScope{}, time.Time{})
	}
	do := func(base, user, method, p string, body []byte) int {
		req, _ := http.NewRequest(method, base+p, strings.NewReader(string(body)))
		req.Header.Set("X-Runlog-Client", "test")
		req.Header.Set("Authorization", "Bearer "+keys[user])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	id := "pg000001"
	log := runfmttest.New(runfmt.Header{Format: 1, ID: id, Name: "on-pg", Project: "lab", Time: 1}).Point(1, 2, "loss", 0.5).Bytes()
	if code := do(url1, "wanda", "POST", "/api/v1/ingest/"+id+"/run.log?offset=0", log); code != 200 {
		t.Fatalf("the writer's ingest through replica 1: %d", code)
	}
	if code := do(url1, "otto", "POST", "/api/v1/ingest/pg000002/run.log?offset=0",
		runfmttest.New(runfmt.Header{Format: 1, ID: "pg000002", Project: "lab", Time: 1}).Bytes()); code != 403 {
		t.Errorf("another project's writer logs to lab: %d", code)
	}
	for _, tt := range []struct {
		user string
		want int
	}{{"vera", 200}, {"otto", 404}, {"wanda", 200}} {
		if code := do(url2, tt.user, "GET", path.Join("/api/v1/runs", id), nil); code != tt.want {
			t.Errorf("%s reads the run through replica 2: %d, want %d", tt.user, code, tt.want)
		}
	}
	vid, _, _ := strings.Cut(strings.TrimPrefix(keys["vera"], accounts.KeyPrefix), "_")
	if code := do(url1, "vera", "POST", "/api/v1/keys/"+vid+"/revoke", nil); code != 204 {
		t.Fatalf("revoke through replica 1: %d", code)
	}
	if code := do(url2, "vera", "GET", "/api/v1/health", nil); code != 401 {
		t.Errorf("the revoked key on replica 2: %d", code)
	}
	// What a backup of the database holds: the whole dump, data and all.
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		pgDump = filepath.Join(pgtest.Bin(), "pg_dump")
	}
	dump, err := exec.Command(pgDump, "--dbname", dsn).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !bytes.Contains(dump, []byte("wanda")) {
		t.Fatalf("the dump does not hold the accounts (no user wanda): %d bytes", len(dump))
	}
	for u, key := range keys {
		secret := key[strings.LastIndexByte(key, '_')+1:]
		for what, s := range map[string]string{"key": secret, "password": "password-of-" + u} {
			if bytes.Contains(dump, []byte(s)) {
				t.Errorf("pg_dump holds %s's %s in clear", u, what)
			}
		}
	}
}
