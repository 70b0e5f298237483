// Package backend opens the store an address names: the embedded SQLite
// store of a home, a SQLite file, or a PostgreSQL database shared by a
// team's servers. It is the one place that picks the implementation, so
// that commands and the server take a --store flag (or RUNLOG_STORE) and
// stay unaware of which it is.
package backend

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/postgres"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// EnvStore names the environment variable that gives the store's address
// when no --store flag does.
const EnvStore = "RUNLOG_STORE"

// Address returns the store address to use: flag if it is set, else
// $RUNLOG_STORE, else "" (the home's own store).
func Address(flag string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv(EnvStore)
}

// Open opens the store addr names:
//
//   - "": the SQLite store of home (home/runlog.db);
//   - postgres://… or postgresql://…: a PostgreSQL database, as libpq
//     takes its URL (postgres://user:password@host:5432/db?sslmode=…);
//   - sqlite:PATH, or a path: a SQLite store in that file.
func Open(ctx context.Context, addr, home string) (store.Store, error) {
	switch {
	case addr == "":
		return sqlite.Open(layout.Store(home))
	case postgres.IsDSN(addr):
		return postgres.Open(ctx, addr)
	case strings.HasPrefix(addr, "sqlite:"):
		return sqlite.Open(strings.TrimPrefix(addr, "sqlite:"))
	}
	if u, err := url.Parse(addr); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		return nil, fmt.Errorf("store %s: unknown kind %q: use postgres://… for PostgreSQL, or sqlite:PATH or a path for a SQLite file", Describe(addr), u.Scheme)
	}
	return sqlite.Open(addr)
}

// Describe returns addr as messages may show it: without a password.
func Describe(addr string) string {
	if u, err := url.Parse(addr); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return addr
}
