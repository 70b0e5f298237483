package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"
)

// ValidSHA256 reports whether sum is a sha256 as this package writes it:
// 64 lower-case hex digits.
func ValidSHA256(sum string) bool {
	if len(sum) != sha256.Size*2 {
		return false
	}
	for _, c := range sum {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// VerifyReader passes r through and fails at its end, with an error
// wrapping ErrCorrupt, unless what it read has the size and sha256 of
// want; it fails as soon as more than want.Size bytes come. A writer that
// stores what it reads until the end (runfs.Create) thus keeps nothing
// that does not match.
func VerifyReader(r io.Reader, want Entry) io.Reader {
	return verify(io.NopCloser(r), want)
}

// PutReader stores the file name of run from a stream (a request body)
// whose size and sha256 the sender states, without a local copy: the
// server-side twin of Put for bytes that arrive over the network.
//
//   - If the content is already stored (by this run or another), r is not
//     read at all, the manifest gains the entry and deduplicated is true:
//     a sender that waits for 100 Continue sends nothing.
//   - A file up to the part size is read whole into memory, checked, and
//     stored in one request.
//   - A larger one goes in parts, each read into one of Options.Parallel+1
//     buffers, hashed (sha256 of the whole, MD5 of the part, which the S3
//     server checks) and sent while the next is read. Parts already in the
//     bucket from an interrupted upload of the same content (same number,
//     size and MD5) are not sent again. The upload is completed only if
//     the whole has the stated sha256; otherwise it is aborted and the
//     error wraps ErrCorrupt: the object named by a sha256 never holds
//     other bytes.
//
// A PutReader cut short (the sender gone, the S3 server down past
// Options.RetryFor) leaves its parts for the next one, or for AbortStale.
// Memory is bounded by (Options.Parallel+1) × the part size.
func (s *S3) PutReader(ctx context.Context, run, name string, r io.Reader, size int64, sum string) (e Entry, deduplicated bool, err error) {
	if err := checkFile(run, name); err != nil {
		return Entry{}, false, err
	}
	if size < 0 || !ValidSHA256(sum) {
		return Entry{}, false, fmt.Errorf("put %s of run %s: want a size ≥ 0 and a sha256 of 64 lower-case hex digits, got %d and %q", name, run, size, sum)
	}
	e = Entry{Path: name, Size: size, SHA256: sum}
	partSize := s.partSize(size)
	up := &upload{s: s, run: run, entry: e, key: s.objectKey(sum), partSize: partSize}
	stored, err := up.stored(ctx)
	if err != nil {
		return Entry{}, false, fmt.Errorf("put %s of run %s: %w", name, run, err)
	}
	if stored {
		up.report(size, size, true)
	} else {
		if size <= partSize {
			err = up.streamOne(ctx, r)
		} else {
			err = up.streamParts(ctx, r)
		}
		if err == nil {
			err = up.check(ctx)
		}
		if err != nil {
			return Entry{}, false, fmt.Errorf("put %s of run %s: %w", name, run, err)
		}
	}
	if err := s.setEntry(ctx, run, e); err != nil {
		return Entry{}, false, fmt.Errorf("put %s of run %s: %w", name, run, err)
	}
	return e, stored, nil
}

// readExactly reads len(b) bytes of r into b; a stream that ends sooner
// is an error naming where it ended.
func readExactly(r io.Reader, b []byte, off, size int64) error {
	n, err := io.ReadFull(r, b)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return fmt.Errorf("%w: the stream ended at %d bytes, before its stated size %d", ErrCorrupt, off+int64(n), size)
	}
	return err
}

// atEnd checks that r holds nothing past the stated size.
func atEnd(r io.Reader, size int64) error {
	var one [1]byte
	n, err := r.Read(one[:])
	for n == 0 && err == nil {
		n, err = r.Read(one[:])
	}
	if n > 0 {
		return fmt.Errorf("%w: the stream is longer than its stated size %d", ErrCorrupt, size)
	}
	if err != io.EOF {
		return err
	}
	return nil
}

// streamOne stores a file of at most one part in one request.
func (u *upload) streamOne(ctx context.Context, r io.Reader) error {
	size := u.entry.Size
	b := make([]byte, size)
	if err := readExactly(r, b, 0, size); err != nil {
		return err
	}
	if err := atEnd(r, size); err != nil {
		return err
	}
	if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != u.entry.SHA256 {
		return fmt.Errorf("%w: the stream's sha256 is %x, not the stated %s", ErrCorrupt, got, u.entry.SHA256)
	}
	sum := md5.Sum(b)
	err := u.s.retry(ctx, "put "+u.key, func() error {
		_, err := u.s.core.PutObject(ctx, u.s.loc.Bucket, u.key, bytes.NewReader(b), size,
			base64.StdEncoding.EncodeToString(sum[:]), "", u.objectOptions())
		return err
	})
	if err != nil {
		return err
	}
	u.report(size, 0, false)
	return nil
}

// streamParts sends a stream in parts, reusing the matching parts of an
// upload of the same content left under way.
func (u *upload) streamParts(ctx context.Context, r io.Reader) error {
	size := u.entry.Size
	nparts := int((size + u.partSize - 1) / u.partSize)
	uploadID, have, err := u.leftUnderWay(ctx)
	if err != nil {
		return err
	}
	if uploadID, err = u.begin(ctx, uploadID); err != nil {
		return err
	}
	free := make(chan []byte, u.s.opts.Parallel+1)
	for range cap(free) {
		free <- nil // buffers are made on first use: a short file needs few
	}
	complete := make([]minio.CompletePart, nparts)
	sha := sha256.New()
	g, gctx := errgroup.WithContext(ctx)
	var readErr error
	for i := range nparts {
		off := int64(i) * u.partSize
		n := min(u.partSize, size-off)
		var b []byte
		select {
		case b = <-free:
		case <-gctx.Done():
		}
		if gctx.Err() != nil {
			break
		}
		if int64(cap(b)) < u.partSize {
			b = make([]byte, u.partSize)
		}
		b = b[:n]
		if readErr = readExactly(r, b, off, size); readErr != nil {
			break
		}
		sha.Write(b)
		sum := md5.Sum(b)
		if p, ok := have[i+1]; ok && p.Size == n && strings.Trim(p.ETag, `"`) == hex.EncodeToString(sum[:]) {
			complete[i] = minio.CompletePart{PartNumber: i + 1, ETag: p.ETag}
			u.report(n, n, false)
			free <- b
			continue
		}
		g.Go(func() error {
			defer func() { free <- b }()
			op := fmt.Sprintf("put part %d of %d of %s", i+1, nparts, u.key)
			return u.s.retry(gctx, op, func() error {
				p, err := u.s.core.PutObjectPart(gctx, u.s.loc.Bucket, u.key, uploadID, i+1, bytes.NewReader(b), n,
					minio.PutObjectPartOptions{Md5Base64: base64.StdEncoding.EncodeToString(sum[:]), DisableContentSha256: true})
				if err != nil {
					return err
				}
				complete[i] = minio.CompletePart{PartNumber: i + 1, ETag: p.ETag}
				u.report(n, 0, false)
				return nil
			})
		})
	}
	if readErr == nil && gctx.Err() == nil {
		readErr = atEnd(r, size)
	}
	if err := g.Wait(); err != nil {
		return err // the parts sent stay, for the next upload to reuse
	}
	if readErr != nil {
		return readErr
	}
	if got := hex.EncodeToString(sha.Sum(nil)); got != u.entry.SHA256 {
		// The parts hold bytes that are not the named content: they must
		// never be completed under this key.
		aerr := u.s.retry(ctx, "abort multipart upload of "+u.key, func() error {
			return u.s.core.AbortMultipartUpload(ctx, u.s.loc.Bucket, u.key, uploadID)
		})
		return errors.Join(fmt.Errorf("%w: the stream's sha256 is %s, not the stated %s", ErrCorrupt, got, u.entry.SHA256), aerr)
	}
	return u.complete(ctx, uploadID, complete)
}

// leftUnderWay finds the upload of this content with the most parts in
// place, and its parts by number. Unlike resumable, it cannot tell which
// parts match before the stream's bytes arrive: streamParts compares each
// part's MD5 as it reads it.
func (u *upload) leftUnderWay(ctx context.Context) (string, map[int]minio.ObjectPart, error) {
	ups, err := u.s.uploads(ctx, u.key)
	if err != nil {
		return "", nil, err
	}
	var best string
	var bestParts map[int]minio.ObjectPart
	for _, up := range ups {
		if up.Key != u.key {
			continue
		}
		parts, err := u.s.listParts(ctx, u.key, up.UploadID)
		if isNoSuchKey(err) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		if best == "" || len(parts) > len(bestParts) {
			best, bestParts = up.UploadID, parts
		}
	}
	return best, bestParts, nil
}

// listParts returns the parts of an upload under way, by number.
func (s *S3) listParts(ctx context.Context, key, uploadID string) (map[int]minio.ObjectPart, error) {
	out := map[int]minio.ObjectPart{}
	marker := 0
	for {
		var res minio.ListObjectPartsResult
		err := s.retry(ctx, "list parts of "+key, func() error {
			var err error
			res, err = s.core.ListObjectParts(ctx, s.loc.Bucket, key, uploadID, marker, 1000)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, p := range res.ObjectParts {
			out[p.PartNumber] = p
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			return out, nil
		}
		marker = res.NextPartNumberMarker
	}
}
