package server_test

import (
	"testing"

	"go.uber.org/goleak"
)

// verifyNoLeaks runs the tests and fails them if a goroutine that a server
// started — the indexer, a live stream, a request handler — is still
// running once they are done. TestMain calls it.
func verifyNoLeaks(m *testing.M) {
	goleak.VerifyTestMain(m)
}
