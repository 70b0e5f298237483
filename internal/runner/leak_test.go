package runner

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the tests if a goroutine that a run started — output
// capture, the monitor, signal forwarding — is still running once they
// are done.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
