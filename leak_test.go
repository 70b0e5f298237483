package runlog

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the tests if a goroutine the client started is still
// running once they are done: every run's writer and streamer must stop
// when the run finishes or is closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
