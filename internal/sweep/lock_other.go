//go:build !unix

package sweep

import "errors"

// ErrLocked is returned when another process runs the sweep.
var ErrLocked = errors.New("the sweep is running in another process")

// Lock does nothing where there is no flock: two runners of one sweep are
// not refused there.
func Lock(home, name string) (unlock func(), err error) { return func() {}, nil }
