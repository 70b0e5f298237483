package objstore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/runlog/runlog/internal/objstore/weedtest"
)

// checkpoint writes a file of random bytes, as a training program saves a
// checkpoint, and returns it opened.
func checkpoint(t *testing.T, size int) (*os.File, []byte) {
	t.Helper()
	data := randomBytes(size)
	p := filepath.Join(t.TempDir(), "step-1000.pt")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, data
}

func underWay(t *testing.T, s *S3) []minio.ObjectMultipartInfo {
	t.Helper()
	ups, err := s.uploads(context.Background(), s.key("objects")+"/")
	if err != nil {
		t.Fatal(err)
	}
	return ups
}

func TestMultipartResumes(t *testing.T) {
	const size = 6*minPartSize + 777 // 7 parts, the last short
	f, data := checkpoint(t, size)
	endpoint := weedtest.Endpoint(t)

	// The first Put is cut short after three parts, as a crash or a
	// restart of the server would.
	ctx, cancel := context.WithCancel(context.Background())
	first := newS3(t, endpoint, Options{PartSize: minPartSize, Parallel: 1, Progress: func(p Progress) {
		if p.Done >= 3*minPartSize {
			cancel()
		}
	}})
	if _, err := first.Put(ctx, "r1", "checkpoints/step-1000.pt", f, size); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Put: %v, want context.Canceled", err)
	}
	if ups := underWay(t, first); len(ups) != 1 {
		t.Fatalf("%d uploads under way after the interruption, want 1", len(ups))
	}
	if _, _, err := first.Open(context.Background(), "r1", "checkpoints/step-1000.pt"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open after the interrupted Put: %v, want ErrNotFound", err)
	}

	// A new store, as after a restart with nothing kept locally, sends
	// only the missing parts.
	var last Progress
	second, err := New(first.loc, Options{PartSize: minPartSize, Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	e, err := second.Put(context.Background(), "r1", "checkpoints/step-1000.pt", f, size)
	if err != nil {
		t.Fatal(err)
	}
	if last.Done != size || last.Reused < 3*minPartSize || last.Reused >= size {
		t.Errorf("resumed Put: %+v, want all %d bytes done, at least 3 parts reused and not all", last, size)
	}
	if e.SHA256 != sum(data) {
		t.Errorf("entry sha256 %s, want %s", e.SHA256, sum(data))
	}
	if got, _ := readAll(t, second, "r1", "checkpoints/step-1000.pt"); !bytes.Equal(got, data) {
		t.Error("the resumed upload's content differs from the file")
	}
	if ups := underWay(t, second); len(ups) != 0 {
		t.Errorf("uploads still under way after the resumed Put: %+v", ups)
	}
}

func TestUnreachable(t *testing.T) {
	srv := weedtest.StartT(t)
	const size = 5*minPartSize + 10
	f, data := checkpoint(t, size)

	// Given up quickly: the error says what and where.
	quick := newS3(t, srv.Endpoint, Options{PartSize: minPartSize, RetryFor: 1500 * time.Millisecond})
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := quick.Put(context.Background(), "r1", "ckpt.pt", f, size)
	if err == nil || !strings.Contains(err.Error(), "S3 at "+srv.Endpoint+" did not answer") || !strings.Contains(err.Error(), "put ckpt.pt of run r1") {
		t.Fatalf("Put with the server down: %v", err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("gave up after %s, want about 1.5 s", d)
	}
	t.Log(err)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}

	// Patient: the server is killed after the first part, and started
	// again once the upload has waited for it; the upload then finishes.
	killed := make(chan struct{})
	var once, retried sync.Once
	waiting := make(chan struct{})
	var retries int
	var mu sync.Mutex
	patient := newS3(t, srv.Endpoint, Options{PartSize: minPartSize, Parallel: 2, RetryFor: 5 * time.Minute,
		Progress: func(p Progress) {
			if p.Done >= minPartSize {
				once.Do(func() {
					if err := srv.Stop(); err != nil {
						t.Error(err)
					}
					close(killed)
				})
			}
		},
		OnRetry: func(op string, err error, wait time.Duration) {
			mu.Lock()
			retries++
			mu.Unlock()
			select {
			case <-killed:
				retried.Do(func() { close(waiting) })
			default:
			}
		}})
	done := make(chan error, 1)
	go func() {
		_, err := patient.Put(context.Background(), "r1", "ckpt.pt", f, size)
		done <- err
	}()
	select {
	case <-waiting:
	case err := <-done:
		t.Fatalf("Put returned before the server came back: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("the server was not killed, or the upload did not retry")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Put after the server came back: %v", err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("Put did not finish after the server came back")
	}
	if got, _ := readAll(t, patient, "r1", "ckpt.pt"); !bytes.Equal(got, data) {
		t.Error("content differs after the interrupted upload")
	}
	mu.Lock()
	t.Logf("%d retries while the server was down", retries)
	mu.Unlock()
}

func TestAbortStale(t *testing.T) {
	ctx := context.Background()
	s := newS3(t, weedtest.Endpoint(t), Options{PartSize: minPartSize})
	start := func(name string) string {
		key := s.objectKey(sum([]byte(name)))
		id, err := s.core.NewMultipartUpload(ctx, s.loc.Bucket, key, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		part := randomBytes(minPartSize)
		if _, err := s.core.PutObjectPart(ctx, s.loc.Bucket, key, id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
			t.Fatal(err)
		}
		return key
	}
	old := start("abandoned")
	time.Sleep(3 * time.Second)
	young := start("under way")
	if n, err := s.AbortStale(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("AbortStale(1h) = %d, %v; want 0 aborted", n, err)
	}
	n, err := s.AbortStale(ctx, 2*time.Second)
	if err != nil || n != 1 {
		t.Fatalf("AbortStale(2s) = %d, %v; want 1 aborted", n, err)
	}
	ups := underWay(t, s)
	if len(ups) != 1 || ups[0].Key != young {
		t.Errorf("uploads left: %+v; want only %s (aborted: %s)", ups, young, old)
	}
}
