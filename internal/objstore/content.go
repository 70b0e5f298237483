package objstore

import (
	"context"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
)

// Content stored by sha256 alone: objects that no run's manifest names,
// because another index refers to them. The team server's sealed log
// stretches are such content: rows of PostgreSQL's log_segments name them
// (internal/store/postgres, docs/team-server.md). They are the same
// objects as files' content, under the same keys, verified the same ways.

// PutContent stores size bytes of src as the object named by their
// sha256, which it returns once the object is durable; content already
// stored is not sent again. Like Put it hashes src once, sends each part
// with its MD5 and checks the object afterwards, and a large one goes in
// parts that a later PutContent of the same bytes resumes; unlike Put it
// changes no manifest.
func (s *S3) PutContent(ctx context.Context, src io.ReaderAt, size int64) (string, error) {
	if size < 0 {
		return "", fmt.Errorf("put content: negative size %d", size)
	}
	partSize := s.partSize(size)
	d, err := digest(ctx, src, size, partSize)
	if err != nil {
		return "", fmt.Errorf("put content: %w", err)
	}
	key := s.objectKey(d.sum)
	up := upload{s: s, entry: Entry{Path: key, Size: size, SHA256: d.sum}, key: key, src: src, d: d, partSize: partSize}
	if err := up.send(ctx); err != nil {
		return "", fmt.Errorf("put content %s: %w", d.sum, err)
	}
	return d.sum, nil
}

// GetContent opens the object named by sum, which holds size bytes. Its
// reader fails at the end with an error wrapping ErrCorrupt unless what it
// read has that size and sha256; an object the bucket lacks is an error
// wrapping ErrNotFound.
func (s *S3) GetContent(ctx context.Context, sum string, size int64) (io.ReadCloser, error) {
	if !ValidSHA256(sum) || size < 0 {
		return nil, fmt.Errorf("get content: want a sha256 of 64 lower-case hex digits and a size ≥ 0, got %q and %d", sum, size)
	}
	key := s.objectKey(sum)
	var body io.ReadCloser
	err := s.retry(ctx, "get "+key, func() error {
		var err error
		body, _, _, err = s.core.GetObject(ctx, s.loc.Bucket, key, minio.GetObjectOptions{})
		return err
	})
	if isNoSuchKey(err) {
		err = fmt.Errorf("%w: object %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("get content %s: %w", sum, err)
	}
	return verify(body, Entry{Path: key, Size: size, SHA256: sum}), nil
}
