//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package runfmt

import (
	"path/filepath"
	"sync"
	"testing"
)

// TestAppendersConcurrent has appenders append at the same time, as
// several `runlog note` commands might: the lock puts them one after
// another, so no record is lost and sequence numbers have no gap.
func TestAppendersConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.cli.log")
	const writers, appends = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := NewAppender(path, AppendOptions{Create: createHeader})
			for i := range appends {
				if err := a.Open(); err != nil {
					errs <- err
					return
				}
				a.Encoder().Heartbeat(1764201600 + float64(i))
				err := a.Flush()
				if cerr := a.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seqs, _, r := records(t, path)
	if len(seqs) != 1+writers*appends || r.Torn() != 0 || len(r.Skipped()) != 0 {
		t.Fatalf("%d records (torn %d, skipped %v), want %d", len(seqs), r.Torn(), r.Skipped(), 1+writers*appends)
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, s)
		}
	}
}
