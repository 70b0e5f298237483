package remote

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the tests if a goroutine that a push or a stream started
// is still running once they are done.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
