package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/store/postgres"
)

func noCheck(int64, []byte) error { return nil }

func readLog(t *testing.T, db *postgres.DB, run, stream string, from int64) []byte {
	t.Helper()
	got, err := io.ReadAll(db.OpenLog(context.Background(), run, stream, from))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestAppendLog checks the offset protocol of the team server's logs: a
// batch sent twice is stored once, a gap is refused with the size held,
// other bytes at a held offset are refused, and what is read back is the
// bytes appended, from any offset.
func TestAppendLog(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	steps := []struct {
		name    string
		offset  int64
		body    string
		want    int64
		wantErr string
	}{
		{"first batch", 0, "hello ", 6, ""},
		{"the same batch again", 0, "hello ", 6, ""},
		{"overlapping, with new bytes", 3, "lo world", 11, ""},
		{"a gap", 20, "x", 11, "gap"},
		{"other bytes at a held offset", 0, "HELLO", 0, "differ"},
		{"an empty body asks the size", 11, "", 11, ""},
	}
	for _, s := range steps {
		size, err := db.AppendLog(ctx, "r1", "run.log", s.offset, []byte(s.body), noCheck)
		var gap *postgres.GapError
		switch {
		case s.wantErr == "gap":
			if !errors.As(err, &gap) || gap.Size != s.want {
				t.Errorf("%s: got %d, %v; want a gap error at %d", s.name, size, err, s.want)
			}
		case s.wantErr == "differ":
			if !errors.Is(err, postgres.ErrLogDiffers) {
				t.Errorf("%s: got %d, %v; want ErrLogDiffers", s.name, size, err)
			}
		case err != nil || size != s.want:
			t.Errorf("%s: got %d, %v; want %d", s.name, size, err, s.want)
		}
	}
	refused := errors.New("refused")
	if _, err := db.AppendLog(ctx, "r1", "run.log", 11, []byte("!"), func(int64, []byte) error { return refused }); !errors.Is(err, refused) {
		t.Errorf("a batch check refuses: got %v", err)
	}
	if got := readLog(t, db, "r1", "run.log", 0); string(got) != "hello world" {
		t.Errorf("read back %q, want %q", got, "hello world")
	}
	if got := readLog(t, db, "r1", "run.log", 8); string(got) != "rld" {
		t.Errorf("read back from 8: %q", got)
	}
	sizes, err := db.LogSizes(ctx, "r1")
	if err != nil || sizes["run.log"] != 11 || len(sizes) != 1 {
		t.Errorf("LogSizes = %v, %v", sizes, err)
	}
}

// TestAppendLogRace has many writers append the same stream at once, each
// its own bytes at the offset it believes is the end: exactly one wins
// each offset, the others are told the size, and the stream is whole
// batches in order with none twice.
func TestAppendLogRace(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	const writers, batches = 4, 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[string]bool{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var offset int64
			for i := 0; i < batches; {
				body := []byte(fmt.Sprintf("<w%d b%02d>", w, i))
				size, err := db.AppendLog(ctx, "race", "run.log", offset, body, noCheck)
				var gap *postgres.GapError
				switch {
				case errors.As(err, &gap):
					offset = gap.Size
				case errors.Is(err, postgres.ErrLogDiffers):
					s, _ := db.LogSizes(ctx, "race")
					offset = s["run.log"]
				case err != nil:
					t.Error(err)
					return
				default:
					mu.Lock()
					won[string(body)] = true
					mu.Unlock()
					offset = size
					i++
				}
			}
		}()
	}
	wg.Wait()
	got := readLog(t, db, "race", "run.log", 0)
	if len(got) != writers*batches*8 {
		t.Fatalf("stream holds %d bytes, want %d", len(got), writers*batches*8)
	}
	seen := map[string]bool{}
	for i := 0; i < len(got); i += 8 {
		b := string(got[i : i+8])
		if seen[b] || !won[b] {
			t.Fatalf("batch %q at %d: twice or never acknowledged", b, i)
		}
		seen[b] = true
	}
}

// TestCompactLogs merges a stream's many small segments and reads back the
// same bytes, from every offset.
func TestCompactLogs(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	var want []byte
	for i := range 200 {
		b := []byte(fmt.Sprintf("batch %03d;", i))
		if _, err := db.AppendLog(ctx, "c", "run.log", int64(len(want)), b, noCheck); err != nil {
			t.Fatal(err)
		}
		want = append(want, b...)
	}
	n, err := db.CompactLogs(ctx, 10)
	if err != nil || n != 1 {
		t.Fatalf("CompactLogs = %d, %v; want 1 stream", n, err)
	}
	if n, err := db.CompactLogs(ctx, 10); err != nil || n != 0 {
		t.Errorf("a second CompactLogs = %d, %v; want nothing to do", n, err)
	}
	for _, from := range []int64{0, 1, 10, 555, int64(len(want)) - 1, int64(len(want))} {
		if got := readLog(t, db, "c", "run.log", from); !bytes.Equal(got, want[from:]) {
			t.Errorf("after compaction, from %d: %d bytes, want %d", from, len(got), len(want)-int(from))
		}
	}
	if _, err := db.AppendLog(ctx, "c", "run.log", int64(len(want)), []byte("more"), noCheck); err != nil {
		t.Fatal(err)
	}
	if got := readLog(t, db, "c", "run.log", 0); string(got) != string(want)+"more" {
		t.Errorf("append after compaction: read back differs")
	}
}

// TestListenNotify: a notification reaches a listener on another
// connection, and WithLock runs for one holder at a time.
func TestListenNotify(t *testing.T) {
	db := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.Listen(ctx, "runlog_test", func(p string) { got <- p })
	}()
	defer func() { cancel(); <-done }()
	deadline := time.After(10 * time.Second)
	for {
		if err := db.Notify(ctx, "runlog_test", "run-a"); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if p != "run-a" {
				t.Fatalf("payload %q", p)
			}
			ran, err := db.WithLock(ctx, 42, func(ctx context.Context) error {
				again, err := db.WithLock(ctx, 42, func(context.Context) error { return nil })
				if again || err != nil {
					t.Errorf("the lock was taken twice (%v, %v)", again, err)
				}
				return nil
			})
			if !ran || err != nil {
				t.Errorf("WithLock = %v, %v", ran, err)
			}
			return
		case <-time.After(100 * time.Millisecond): // not listening yet
		case <-deadline:
			t.Fatal("no notification in 10 s")
		}
	}
}
