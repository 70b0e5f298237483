package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/runlog/runlog/internal/objstore/weedtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	weedtest.StopShared()
	os.Exit(code)
}

// newS3 returns a store of its own on the tests' S3 server: a new prefix
// in the one bucket all tests share (every bucket costs SeaweedFS volumes
// of its own).
func newS3(t testing.TB, endpoint string, opts Options) *S3 {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	loc := Location{Bucket: "runlog-test", Prefix: name + "-" + hex.EncodeToString(b[:]), Endpoint: endpoint, Region: "us-east-1"}
	s, err := New(loc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readAll(t *testing.T, s Store, run, name string) ([]byte, Entry) {
	t.Helper()
	r, e, err := s.Open(context.Background(), run, name)
	if err != nil {
		t.Fatalf("Open %s/%s: %v", run, name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s/%s: %v", run, name, err)
	}
	return b, e
}

// stores gives each test both implementations, or only Folder where
// there is no S3 server (and RUNLOG_TEST_S3 is unset: see weedtest).
func stores(t *testing.T) map[string]Store {
	m := map[string]Store{"folder": NewFolder(t.TempDir())}
	if endpoint, err := weedtest.Find(); err == nil {
		m["s3"] = newS3(t, endpoint, Options{PartSize: minPartSize})
	} else {
		t.Logf("S3 left out: %v", err)
	}
	return m
}

func TestPutOpenList(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			files := []struct {
				path string
				data []byte
			}{
				{"run.log", randomBytes(1000)},
				{"checkpoints/step-100.pt", randomBytes(minPartSize + 12345)}, // two parts in S3
				{"media/empty.txt", nil},
				{"artifacts/a b/ünïcode.json", []byte(`{"x": 1}`)},
			}
			for _, f := range files {
				e, err := s.Put(ctx, "run1", f.path, bytes.NewReader(f.data), int64(len(f.data)))
				if err != nil {
					t.Fatalf("Put %s: %v", f.path, err)
				}
				if want := (Entry{Path: f.path, Size: int64(len(f.data)), SHA256: sum(f.data)}); e != want {
					t.Errorf("Put %s = %+v, want %+v", f.path, e, want)
				}
			}
			for _, f := range files {
				got, e := readAll(t, s, "run1", f.path)
				if !bytes.Equal(got, f.data) || e.SHA256 != sum(f.data) {
					t.Errorf("%s: read %d bytes (sha256 %s), want %d", f.path, len(got), e.SHA256, len(f.data))
				}
			}
			list, err := s.List(ctx, "run1")
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, e := range list {
				paths = append(paths, e.Path)
			}
			want := "artifacts/a b/ünïcode.json checkpoints/step-100.pt media/empty.txt run.log"
			if strings.Join(paths, " ") != want {
				t.Errorf("List = %q, want %q", paths, want)
			}

			// A second Put of a path replaces it.
			v2 := []byte("second version")
			if _, err := s.Put(ctx, "run1", "run.log", bytes.NewReader(v2), int64(len(v2))); err != nil {
				t.Fatal(err)
			}
			if got, _ := readAll(t, s, "run1", "run.log"); !bytes.Equal(got, v2) {
				t.Errorf("after replacing run.log: read %q", got)
			}

			// Missing files and runs, and names that lead out, are refused clearly.
			if _, _, err := s.Open(ctx, "run1", "nope.bin"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Open of a missing file: %v, want ErrNotFound", err)
			}
			if _, _, err := s.Open(ctx, "run2", "run.log"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Open in a run without files: %v, want ErrNotFound", err)
			}
			for _, bad := range []struct{ run, path string }{{"run1", "../run2/run.log"}, {"run1", "/etc/passwd"}, {"../x", "run.log"}, {"run1", ""}} {
				if _, err := s.Put(ctx, bad.run, bad.path, bytes.NewReader(nil), 0); err == nil {
					t.Errorf("Put %q %q: no error", bad.run, bad.path)
				}
			}
			// A source shorter than its size stores nothing.
			if _, err := s.Put(ctx, "run1", "short.bin", bytes.NewReader([]byte("abc")), 10); err == nil || !strings.Contains(err.Error(), "before its size") {
				t.Errorf("Put of a short source: %v", err)
			}
			if _, _, err := s.Open(ctx, "run1", "short.bin"); !errors.Is(err, ErrNotFound) {
				t.Errorf("after a failed Put: %v, want ErrNotFound", err)
			}
		})
	}
}

// objects lists the content objects of an S3 store.
func objects(t *testing.T, s *S3) []string {
	t.Helper()
	var keys []string
	for o := range s.client.ListObjects(context.Background(), s.loc.Bucket, minio.ListObjectsOptions{Prefix: s.key("objects") + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func TestDeduplicated(t *testing.T) {
	ctx := context.Background()
	var progress []Progress
	s := newS3(t, weedtest.Endpoint(t), Options{PartSize: minPartSize, Progress: func(p Progress) { progress = append(progress, p) }})
	data := randomBytes(3 * minPartSize / 2)
	for _, run := range []string{"a1", "b2"} {
		for _, name := range []string{"checkpoints/best.pt", "checkpoints/last.pt"} {
			if _, err := s.Put(ctx, run, name, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if keys := objects(t, s); len(keys) != 1 || !strings.HasSuffix(keys[0], "/"+sum(data)) {
		t.Errorf("objects after 4 Puts of one content: %q, want one named by its sha256", keys)
	}
	dedup := 0
	for _, p := range progress {
		if p.Deduplicated {
			dedup++
		}
	}
	if dedup != 3 {
		t.Errorf("%d Puts reported Deduplicated, want 3", dedup)
	}
	for _, run := range []string{"a1", "b2"} {
		if got, _ := readAll(t, s, run, "checkpoints/last.pt"); !bytes.Equal(got, data) {
			t.Errorf("run %s: content differs", run)
		}
	}
}

func TestOpenVerifies(t *testing.T) {
	ctx := context.Background()
	data := randomBytes(100_000)
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Put(ctx, "r", "ckpt.pt", bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
			r, _, err := s.Open(ctx, "r", "ckpt.pt")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			// The stored bytes change under the reader: one byte flipped,
			// the size unchanged.
			bad := bytes.Clone(data)
			bad[len(bad)/2] ^= 1
			switch s := s.(type) {
			case *Folder:
				if err := os.WriteFile(filepath.Join(s.home, "runs", "r", "ckpt.pt"), bad, 0o644); err != nil {
					t.Fatal(err)
				}
			case *S3:
				// Through the server, as a disk fault or another writer would.
				r.Close()
				key := s.objectKey(sum(data))
				if _, err := s.core.PutObject(ctx, s.loc.Bucket, key, bytes.NewReader(bad), int64(len(bad)), "", "", minio.PutObjectOptions{}); err != nil {
					t.Fatal(err)
				}
				r, _, err = s.Open(ctx, "r", "ckpt.pt")
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
			}
			_, err = io.ReadAll(r)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("reading changed content: %v, want ErrCorrupt", err)
			}
		})
	}
}

// changing is a source whose bytes change after the first time they are
// read: a checkpoint rewritten while it is uploaded.
type changing struct {
	data []byte
	mu   sync.Mutex
	seen map[int64]bool
}

func (c *changing) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := copy(p, c.data[off:])
	if c.seen[off] {
		for i := range p[:n] {
			p[i] ^= 0xff
		}
	}
	c.seen[off] = true
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestPutVerifies(t *testing.T) {
	ctx := context.Background()
	s := newS3(t, weedtest.Endpoint(t), Options{PartSize: minPartSize})
	for _, size := range []int{1000, 2*minPartSize + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			src := &changing{data: randomBytes(size), seen: map[int64]bool{}}
			_, err := s.Put(ctx, "r", "ckpt.pt", src, int64(size))
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "source changed") {
				t.Fatalf("Put of a source that changed: %v, want ErrCorrupt", err)
			}
			if _, _, err := s.Open(ctx, "r", "ckpt.pt"); !errors.Is(err, ErrNotFound) {
				t.Errorf("after the refused Put: %v, want ErrNotFound", err)
			}
			if keys := objects(t, s); len(keys) != 0 {
				t.Errorf("objects after the refused Put: %q", keys)
			}
		})
	}
}

func TestManifestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	endpoint := weedtest.Endpoint(t)
	s := newS3(t, endpoint, Options{})
	// Two stores on one bucket: two replicas of the server.
	other, err := New(s.loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		st := s
		if i%2 == 1 {
			st = other
		}
		wg.Go(func() {
			data := []byte(fmt.Sprint("file ", i))
			_, err := st.Put(ctx, "shared", fmt.Sprintf("media/%02d.txt", i), bytes.NewReader(data), int64(len(data)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 16 {
		t.Errorf("manifest after 16 concurrent Puts from two stores has %d files, want 16: %+v", len(list), list)
	}
}

// TestConditionalWrite checks what the manifest's concurrency rests on:
// the server refuses a write whose If-Match names an ETag it no longer
// has, and an If-None-Match: * write over an existing object.
func TestConditionalWrite(t *testing.T) {
	ctx := context.Background()
	s := newS3(t, weedtest.Endpoint(t), Options{})
	if _, err := s.Put(ctx, "r", "a.txt", bytes.NewReader([]byte("a")), 1); err != nil {
		t.Fatal(err)
	}
	key := s.manifestKey("r")
	for _, cond := range []func(*minio.PutObjectOptions){
		func(o *minio.PutObjectOptions) { o.SetMatchETag("00000000000000000000000000000000") },
		func(o *minio.PutObjectOptions) { o.SetMatchETagExcept("*") },
	} {
		var opts minio.PutObjectOptions
		cond(&opts)
		_, err := s.core.PutObject(ctx, s.loc.Bucket, key, bytes.NewReader([]byte("{}")), 2, "", "", opts)
		if code := s3Error(err).StatusCode; code != 412 {
			t.Errorf("conditional write over the manifest: %v (status %d), want 412", err, code)
		}
	}
	if list, err := s.List(ctx, "r"); err != nil || len(list) != 1 {
		t.Errorf("manifest after refused writes: %+v, %v", list, err)
	}
}
