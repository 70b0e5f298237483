package backend_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/backend"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
	"github.com/runlog/runlog/internal/store/sqlite"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestOpen(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	file, file2 := filepath.Join(t.TempDir(), "other.db"), filepath.Join(t.TempDir(), "third.db")
	tests := []struct {
		name string
		addr func(t *testing.T) string
		want string // the type opened
		file string // the SQLite file, if any
	}{
		{"the home's own store", func(*testing.T) string { return "" }, "sqlite", filepath.Join(home, "runlog.db")},
		{"a path", func(*testing.T) string { return file }, "sqlite", file},
		{"sqlite:PATH", func(*testing.T) string { return "sqlite:" + file2 }, "sqlite", file2},
		{"postgres://", func(t *testing.T) string { return pgtest.DB(t) }, "postgres", ""},
		{"postgresql://", func(t *testing.T) string { return "postgresql" + strings.TrimPrefix(pgtest.DB(t), "postgres") }, "postgres", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := backend.Open(ctx, tt.addr(t), home)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			switch db := st.(type) {
			case *sqlite.DB:
				if tt.want != "sqlite" || db.Path() != tt.file {
					t.Errorf("opened SQLite at %s, want %s %s", db.Path(), tt.want, tt.file)
				}
			case *postgres.DB:
				if tt.want != "postgres" {
					t.Errorf("opened PostgreSQL, want %s", tt.want)
				}
			}
			// Whichever it is, it is a working store.
			b := &store.Batch{RunID: "r", Next: store.Cursor{Seq: 1}, Header: &runfmt.Header{ID: "r", Name: "n", Time: 1}}
			if err := st.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			if id, err := st.Resolve(ctx, "n"); err != nil || id != "r" {
				t.Errorf("Resolve = %q, %v", id, err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := backend.Open(ctx, "mysql://u:secret@db/x", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "postgres://") || strings.Contains(err.Error(), "secret") {
		t.Errorf("unknown kind: %v; want an error naming the kinds, without the password", err)
	}
	// A server that is not there: unavailable, and the password is not
	// repeated.
	_, err = backend.Open(ctx, "postgres://u:secret@127.0.0.1:1/x?connect_timeout=2", t.TempDir())
	if !errors.Is(err, store.ErrUnavailable) || strings.Contains(err.Error(), "secret") {
		t.Errorf("no server: %v; want ErrUnavailable without the password", err)
	}
}

func TestAddress(t *testing.T) {
	t.Setenv(backend.EnvStore, "postgres://env/db")
	if got := backend.Address("flag.db"); got != "flag.db" {
		t.Errorf("flag and env: %q, want the flag's", got)
	}
	if got := backend.Address(""); got != "postgres://env/db" {
		t.Errorf("env only: %q", got)
	}
	if got := backend.Describe("postgres://ada:pw@h/db"); strings.Contains(got, "pw") || !strings.Contains(got, "ada@h/db") && !strings.Contains(got, "ada:xxxxx@h/db") {
		t.Errorf("Describe = %q", got)
	}
}
