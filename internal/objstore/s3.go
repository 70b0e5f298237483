package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/runlog/runlog/internal/layout"
)

// S3 is a Store in a bucket of an S3-compatible server. See the package
// documentation for the layout of its objects.
type S3 struct {
	client    *minio.Client
	core      minio.Core
	transport *http.Transport
	loc       Location
	endpoint  string
	opts      Options
}

// metaSHA256 is the user metadata (x-amz-meta-sha256) every object of
// content carries: its sha256, in hex.
const metaSHA256 = "Sha256"

// New returns the store at loc. Credentials come from the environment:
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for
// temporary ones); without them requests are anonymous, which a bucket
// open to this network (a test server) accepts. New sends no request: the
// first operation finds out whether the server answers.
func New(loc Location, opts Options) (*S3, error) {
	e, err := url.Parse(loc.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("S3 endpoint %q: %w", loc.Endpoint, err)
	}
	tr, err := minio.DefaultTransport(e.Scheme == "https")
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %w", loc.Endpoint, err)
	}
	client, err := minio.New(e.Host, &minio.Options{
		Creds:     credentials.NewEnvAWS(),
		Secure:    e.Scheme == "https",
		Region:    loc.Region,
		Transport: tr,
		// This package retries itself, with its own reporting and limit.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %w", loc.Endpoint, err)
	}
	opts = opts.withDefaults()
	if opts.PartSize < minPartSize {
		return nil, fmt.Errorf("part size %d is below S3's minimum of 5 MiB", opts.PartSize)
	}
	return &S3{client: client, core: minio.Core{Client: client}, transport: tr, loc: loc, endpoint: loc.Endpoint, opts: opts}, nil
}

// Close closes the store's idle connections to the server. The store
// stays usable: a later request opens new ones.
func (s *S3) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

// Location returns where the store keeps its objects.
func (s *S3) Location() Location { return s.loc }

// CreateBucket creates the store's bucket unless it exists: for tests and
// first setup (an operator usually creates it, with versioning on).
func (s *S3) CreateBucket(ctx context.Context) error {
	return s.retry(ctx, "create bucket "+s.loc.Bucket, func() error {
		err := s.client.MakeBucket(ctx, s.loc.Bucket, minio.MakeBucketOptions{Region: s.loc.Region})
		if code := minio.ToErrorResponse(err).Code; code == minio.BucketAlreadyOwnedByYou || code == "BucketAlreadyExists" {
			return nil
		}
		return err
	})
}

func (s *S3) key(parts ...string) string {
	return path.Join(append([]string{s.loc.Prefix}, parts...)...)
}

// objectKey is where the content with the given sha256 lies; the first
// two hex digits spread the objects over 256 prefixes, which some servers
// partition by.
func (s *S3) objectKey(sum string) string { return s.key("objects", "sha256", sum[:2], sum) }

func (s *S3) manifestKey(run string) string { return s.key("runs", run, "manifest.json") }

// Put stores the file as described by Store: one pass over src hashes it;
// if its content is already stored nothing is sent; a file up to the part
// size goes in one request, a larger one in parts, resuming an earlier,
// interrupted upload of the same content; then the run's manifest is
// updated.
func (s *S3) Put(ctx context.Context, run, name string, src io.ReaderAt, size int64) (Entry, error) {
	if err := checkFile(run, name); err != nil {
		return Entry{}, err
	}
	if size < 0 {
		return Entry{}, fmt.Errorf("put %s of run %s: negative size %d", name, run, size)
	}
	partSize := s.partSize(size)
	d, err := digest(ctx, src, size, partSize)
	if err != nil {
		return Entry{}, fmt.Errorf("put %s of run %s: %w", name, run, err)
	}
	e := Entry{Path: name, Size: size, SHA256: d.sum}
	up := upload{s: s, run: run, entry: e, key: s.objectKey(d.sum), src: src, d: d, partSize: partSize}
	if err := up.send(ctx); err != nil {
		return Entry{}, fmt.Errorf("put %s of run %s: %w", name, run, err)
	}
	if err := s.setEntry(ctx, run, e); err != nil {
		return Entry{}, fmt.Errorf("put %s of run %s: %w", name, run, err)
	}
	return e, nil
}

// partSize is the configured part size, or larger where the file would
// otherwise need more than S3's 10,000 parts.
func (s *S3) partSize(size int64) int64 {
	p := s.opts.PartSize
	if need := (size + maxParts - 1) / maxParts; need > p {
		p = (need + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return p
}

// Open opens a file of a run as described by Store.
func (s *S3) Open(ctx context.Context, run, name string) (io.ReadCloser, Entry, error) {
	if err := checkFile(run, name); err != nil {
		return nil, Entry{}, err
	}
	m, _, err := s.manifest(ctx, run)
	if err != nil {
		return nil, Entry{}, fmt.Errorf("open %s of run %s: %w", name, run, err)
	}
	i, ok := m.find(name)
	if !ok {
		return nil, Entry{}, fmt.Errorf("open %s of run %s: %w", name, run, ErrNotFound)
	}
	e := m.Files[i]
	key := s.objectKey(e.SHA256)
	var body io.ReadCloser
	err = s.retry(ctx, "get "+key, func() error {
		var err error
		body, _, _, err = s.core.GetObject(ctx, s.loc.Bucket, key, minio.GetObjectOptions{})
		return err
	})
	if isNoSuchKey(err) {
		err = fmt.Errorf("%w: the manifest names object %s, which the bucket lacks", ErrNotFound, key)
	}
	if err != nil {
		return nil, Entry{}, fmt.Errorf("open %s of run %s: %w", name, run, err)
	}
	return verify(body, e), e, nil
}

// List returns the run's manifest, as described by Store.
func (s *S3) List(ctx context.Context, run string) ([]Entry, error) {
	if err := layout.CheckID(run); err != nil {
		return nil, err
	}
	m, _, err := s.manifest(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("list run %s: %w", run, err)
	}
	return m.Files, nil
}

// manifest is a run's list of files, one JSON object per run
// (docs/team-server.md).
type manifest struct {
	Run   string  `json:"run"`
	Files []Entry `json:"files"` // sorted by path
}

func (m *manifest) find(name string) (int, bool) {
	return slices.BinarySearchFunc(m.Files, name, func(e Entry, name string) int { return strings.Compare(e.Path, name) })
}

func (m *manifest) set(e Entry) {
	i, ok := m.find(e.Path)
	if ok {
		m.Files[i] = e
	} else {
		m.Files = slices.Insert(m.Files, i, e)
	}
}

// manifest reads the run's manifest and its ETag; a run that has none has
// an empty one and the ETag "".
func (s *S3) manifest(ctx context.Context, run string) (manifest, string, error) {
	key := s.manifestKey(run)
	m := manifest{Run: run, Files: []Entry{}}
	var data []byte
	var etag string
	err := s.retry(ctx, "get "+key, func() error {
		body, info, _, err := s.core.GetObject(ctx, s.loc.Bucket, key, minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer body.Close()
		data, err = io.ReadAll(io.LimitReader(body, 256<<20))
		etag = info.ETag
		return err
	})
	if isNoSuchKey(err) {
		return m, "", nil
	}
	if err != nil {
		return manifest{}, "", err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return manifest{}, "", fmt.Errorf("manifest %s: %w", key, err)
	}
	if m.Run != run || !slices.IsSortedFunc(m.Files, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) }) {
		return manifest{}, "", fmt.Errorf("manifest %s: not run %s's, or its files are not sorted", key, run)
	}
	return m, etag, nil
}

// setEntry adds or replaces e in the run's manifest. Writers of one run
// on several replicas do not lose each other's entries: each write is
// conditional on the ETag it read (If-Match, or If-None-Match for a new
// manifest), and one that lost the race reads again.
func (s *S3) setEntry(ctx context.Context, run string, e Entry) error {
	key := s.manifestKey(run)
	for {
		m, etag, err := s.manifest(ctx, run)
		if err != nil {
			return err
		}
		if i, ok := m.find(e.Path); ok && m.Files[i] == e {
			return nil
		}
		m.set(e)
		data, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		opts := minio.PutObjectOptions{ContentType: "application/json"}
		if etag == "" {
			opts.SetMatchETagExcept("*")
		} else {
			opts.SetMatchETag(etag)
		}
		err = s.retry(ctx, "put "+key, func() error {
			_, err := s.core.PutObject(ctx, s.loc.Bucket, key, bytes.NewReader(data), int64(len(data)), md5Base64(data), "", opts)
			return err
		})
		if code := s3Error(err).StatusCode; code == http.StatusPreconditionFailed || code == http.StatusConflict {
			continue // another writer came between our read and our write
		}
		return err
	}
}

// s3Error is the S3 server's answer that err wraps, or the zero value
// for an error that is not one (a network error).
func s3Error(err error) minio.ErrorResponse {
	var r minio.ErrorResponse
	errors.As(err, &r)
	return r
}

// isNoSuchKey tells whether err is the server's answer that an object or
// upload does not exist (and not that the bucket does not).
func isNoSuchKey(err error) bool {
	r := s3Error(err)
	return r.Code == minio.NoSuchKey || r.Code == "NoSuchUpload" || r.StatusCode == http.StatusNotFound && r.Code != minio.NoSuchBucket
}

func md5Base64(data []byte) string {
	sum := md5.Sum(data)
	return base64.StdEncoding.EncodeToString(sum[:])
}
