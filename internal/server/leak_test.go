package server_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// verifyNoLeaks runs the tests and fails them if a goroutine that a server
// started — the indexer, a live stream, a request handler — is still
// running once they are done. TestMain calls it. The PostgreSQL cluster
// that team tests share (pgtest.DB) is stopped before the check.
func verifyNoLeaks(m *testing.M) {
	goleak.VerifyTestMain(withPostgres{m})
}

// withPostgres runs the tests through pgtest.Main.
type withPostgres struct{ m *testing.M }

func (w withPostgres) Run() int { return pgtest.Main(w.m) }
