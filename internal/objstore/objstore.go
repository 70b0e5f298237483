// Package objstore keeps the files of runs — checkpoints, artifacts, media
// and the raw run logs — in a folder or in S3-compatible object storage,
// behind one interface, Store, that the server reads and writes them
// through.
//
// Two implementations:
//
//   - Folder is a home: a run's files live in its run folder,
//     runs/<id>/<path>, written whole through internal/runfs (atomicfile), as
//     every other file of a home is. The run folder stays complete on its
//     own.
//   - S3 is a bucket of an S3-compatible server (Amazon S3, SeaweedFS,
//     MinIO, Ceph, …), reached through minio-go. Files are stored by
//     content: one object per distinct sha256, <prefix>/objects/sha256/<ab>/<hex>,
//     so a checkpoint uploaded twice, or by two runs, is stored once; each
//     run has a manifest, <prefix>/runs/<id>/manifest.json, mapping its paths
//     to sha256 and size (docs/team-server.md).
//
// What must stay true:
//
//   - a file is stored whole or not at all: Open never returns part of a
//     Put that has not returned;
//   - every byte is verified: Put hashes the source once and sends each
//     part with its MD5, which the server checks, so that the object holds
//     the bytes whose sha256 names it; every reader Open returns hashes what
//     it reads and fails at the end (ErrCorrupt) unless the size and sha256
//     are the manifest's;
//   - a large file goes in parts (Options.PartSize) and resumably: a Put
//     cut short (a crash, a cancelled context, the server gone) leaves its
//     parts in the bucket, and the next Put of the same content finds them
//     through S3's ListMultipartUploads and ListParts and sends only the
//     rest. No local state is kept: a replica with an empty disk resumes as
//     well as the one that started. Uploads nobody resumes are aborted by
//     AbortStale;
//   - a server that does not answer is retried with backoff for
//     Options.RetryFor, each wait reported to Options.OnRetry; after that
//     the error names the endpoint and what failed.
//
// Memory is bounded by Options.Parallel × a small buffer: parts are read
// from the source (an io.ReaderAt) where they lie, never held whole.
package objstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfs"
)

// Entry is one file of a run: its slash-separated path inside the run
// folder (e.g. "checkpoints/step-1000.pt"), its size and its sha256 in
// lower-case hex.
type Entry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Store holds the files of runs. Implementations are safe for concurrent
// use.
type Store interface {
	// Put stores size bytes of src as the file path of run, replacing
	// what path held, and returns its entry. It returns once the file is
	// durable in the store; if it fails, path holds what it held before.
	Put(ctx context.Context, run, path string, src io.ReaderAt, size int64) (Entry, error)
	// Open opens the file path of run for reading. The reader fails with
	// an error wrapping ErrCorrupt at its end unless what it read has the
	// entry's size and sha256. A missing file is an error wrapping
	// ErrNotFound.
	Open(ctx context.Context, run, path string) (io.ReadCloser, Entry, error)
	// List returns the files of run sorted by path: its manifest. A run
	// with no files has an empty list.
	List(ctx context.Context, run string) ([]Entry, error)
}

// ErrNotFound is returned for a file or run the store does not hold.
var ErrNotFound = errors.New("not found")

// ErrCorrupt is returned when bytes read or sent do not match their sha256
// or size.
var ErrCorrupt = errors.New("content does not match its sha256")

// Options tunes how files travel. The zero value is usable: each field
// has a default.
type Options struct {
	// PartSize is the size of one part of a multipart upload, and the
	// size above which a file goes in parts (default 16 MiB; S3 allows
	// 5 MiB to 5 GiB, and at most 10,000 parts a file).
	PartSize int64
	// Parallel is how many parts are sent at once (default 4).
	Parallel int
	// RetryFor is how long an operation keeps retrying a server that does
	// not answer, or answers 5xx, before it returns the error (default one
	// minute; negative: no retries). A cancelled context stops it sooner.
	RetryFor time.Duration
	// OnRetry, if set, is told of each failed attempt that will be
	// retried, and the wait before the next.
	OnRetry func(op string, err error, wait time.Duration)
	// Progress, if set, is called after each part a Put has stored:
	// done of total bytes are in the store, reused of them were already
	// there from an earlier, interrupted Put of the same content.
	Progress func(p Progress)
}

// Progress is where a Put stands.
type Progress struct {
	Run, Path           string
	Done, Total, Reused int64
	// Deduplicated is true when the content was already stored, by this
	// run or another, and nothing was sent.
	Deduplicated bool
}

const (
	defaultPartSize = 16 << 20
	minPartSize     = 5 << 20
	maxParts        = 10000
	defaultParallel = 4
	defaultRetryFor = time.Minute
)

func (o Options) withDefaults() Options {
	if o.PartSize <= 0 {
		o.PartSize = defaultPartSize
	}
	if o.Parallel <= 0 {
		o.Parallel = defaultParallel
	}
	if o.RetryFor == 0 {
		o.RetryFor = defaultRetryFor
	}
	return o
}

// checkFile checks a run id and a file path the way a home does.
func checkFile(run, path string) error {
	if err := layout.CheckID(run); err != nil {
		return err
	}
	if err := runfs.CheckName(path); err != nil {
		return fmt.Errorf("file %w", err)
	}
	return nil
}

// verifier passes reads through, hashing them, and turns the end of a
// stream whose size or sha256 is not want's into an error wrapping
// ErrCorrupt.
type verifier struct {
	r    io.ReadCloser
	want Entry
	h    hash.Hash
	n    int64
	err  error
}

func verify(r io.ReadCloser, want Entry) *verifier {
	return &verifier{r: r, want: want, h: sha256.New()}
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.want.Size {
		err = fmt.Errorf("%s: %w: more than its %d bytes", v.want.Path, ErrCorrupt, v.want.Size)
	} else if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); v.n != v.want.Size || got != v.want.SHA256 {
			err = fmt.Errorf("%s: %w: read %d bytes with sha256 %s, want %d bytes with sha256 %s",
				v.want.Path, ErrCorrupt, v.n, got, v.want.Size, v.want.SHA256)
		}
	}
	if err != nil {
		v.err = err
	}
	return n, err
}

func (v *verifier) Close() error { return v.r.Close() }
