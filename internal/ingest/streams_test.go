package ingest_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/runlog/runlog/internal/ingest"
)

// TestStreamsIndexLikeRunFolders indexes the fixtures' logs through
// Streams, as the team server does with the bytes it holds in the
// database, in pieces as clients send them, and compares the store with
// one that indexed the same bytes from a run folder.
func TestStreamsIndexLikeRunFolders(t *testing.T) {
	for _, name := range []string{"basic", "resume", "media"} {
		t.Run(name, func(t *testing.T) {
			data := fixture(t, name)
			home := homeWith(t, "r", data)
			folder := openStore(t, home)
			index(t, folder, home)
			want := snap(t, folder, "r")

			team := openStore(t, t.TempDir())
			// Indexed after each piece arrives: the cursors carry on.
			for _, end := range []int{len(data) / 3, len(data) / 2, len(data)} {
				held := data[:end]
				res, err := ingest.Streams(ctx, team, "r", []ingest.Stream{{
					Name: "run.log", Size: int64(len(held)),
					Open: func(from int64) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(held[from:])), nil },
				}}, ingest.Options{})
				if err != nil {
					t.Fatalf("Streams up to %d: %v (%+v)", end, err, res)
				}
			}
			// A stale size, smaller than what another indexer read already
			// (two replicas indexing one run): the run is left as it is,
			// not taken for a log replaced by a shorter one and rebuilt.
			stale := data[:len(data)/3]
			if _, err := ingest.Streams(ctx, team, "r", []ingest.Stream{{
				Name: "run.log", Size: int64(len(stale)),
				Open: func(from int64) (io.ReadCloser, error) {
					return io.NopCloser(bytes.NewReader(stale[min(from, int64(len(stale))):])), nil
				},
			}}, ingest.Options{}); err != nil {
				t.Fatalf("Streams with a stale size: %v", err)
			}
			got := snap(t, team, "r")
			got.Run.Path, want.Run.Path = "", "" // a run folder has one, the team's logs none
			if d := want.diff(got); d != "" {
				t.Errorf("indexed from streams differs from the run folder's: %s", d)
			}
		})
	}
}
