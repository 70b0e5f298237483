package ingest

import (
	"bytes"
	"context"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// TestAlertsReplicasTakingTurns: two replicas of a team server index one
// live run in turns (a load balancer alternates its batches), so each
// finds the stream grown by the other since it last indexed it. The state
// each kept is brought up to date by reading only the records after it,
// not the stream from its start, and the alerts stored are those of the
// run indexed whole.
func TestAlertsReplicasTakingTurns(t *testing.T) {
	nan := math.NaN()
	data := lossLog("loss", append(append(flat(30, 1, 20), flat(10, 1, nan)...), flat(2*alertDelay, 1)...), false, -1, false)
	whole := openTestStore(t)
	if _, err := Streams(context.Background(), whole, "run", []Stream{memStream(data, nil)}, Options{}); err != nil {
		t.Fatal(err)
	}
	want := alertsOf(t, whole, false)
	if len(want) != 2 {
		t.Fatalf("the whole run's alerts %v: want a spike and a NaN", want)
	}

	st := openTestStore(t)
	ends := []int{len(data) / 5, 2 * len(data) / 5, 3 * len(data) / 5, 4 * len(data) / 5, len(data)}
	kept := map[int]*watcher{} // each replica's state, as its process keeps it
	path := "run/run.log"
	var mu sync.Mutex
	var froms []int64
	for i, end := range ends {
		replica := i % 2
		watchers.Lock()
		delete(watchers.m, path)
		if w := kept[replica]; w != nil {
			watchers.m[path] = w
		}
		watchers.Unlock()
		froms = froms[:0]
		if _, err := Streams(context.Background(), st, "run", []Stream{memStream(data[:end], func(from int64) {
			mu.Lock()
			froms = append(froms, from)
			mu.Unlock()
		})}, Options{}); err != nil {
			t.Fatalf("replica %d indexing up to %d: %v", replica, end, err)
		}
		watchers.Lock()
		kept[replica] = watchers.m[path]
		watchers.Unlock()
		if i >= 2 {
			// The other replica indexed the piece before this one: this
			// one read from where it had stopped, never from 0.
			for _, from := range froms {
				if from == 0 {
					t.Errorf("replica %d read the stream from its start to index up to %d (reads from %v)", replica, end, froms)
				}
			}
		}
	}
	if got := alertsOf(t, st, false); !reflect.DeepEqual(got, want) {
		t.Errorf("alerts indexed by replicas taking turns %v, want %v", got, want)
	}
}

// memStream is a stream held in memory; read, if set, is told of every
// offset the stream is read from.
func memStream(data []byte, read func(from int64)) Stream {
	return Stream{Name: "run.log", Size: int64(len(data)), Open: func(from int64) (io.ReadCloser, error) {
		if read != nil {
			read(from)
		}
		return io.NopCloser(bytes.NewReader(data[from:])), nil
	}}
}

func openTestStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
