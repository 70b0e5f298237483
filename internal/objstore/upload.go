package objstore

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"
)

// upload sends one file's content to its object, unless it is there.
type upload struct {
	s        *S3
	run      string
	entry    Entry
	key      string
	src      io.ReaderAt
	d        digests
	partSize int64

	mu           sync.Mutex
	done, reused int64
}

func (u *upload) report(n, reused int64, dedup bool) {
	if u.s.opts.Progress == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.done += n
	u.reused += reused
	u.s.opts.Progress(Progress{Run: u.run, Path: u.entry.Path, Done: u.done, Total: u.entry.Size, Reused: u.reused, Deduplicated: dedup})
}

func (u *upload) send(ctx context.Context) error {
	stored, err := u.stored(ctx)
	if err != nil {
		return err
	}
	if stored {
		u.report(u.entry.Size, u.entry.Size, true)
		return nil
	}
	if u.entry.Size <= u.partSize {
		err = u.s.retry(ctx, "put "+u.key, func() error {
			_, err := u.s.core.PutObject(ctx, u.s.loc.Bucket, u.key, io.NewSectionReader(u.src, 0, u.entry.Size),
				u.entry.Size, u.d.md5Base64(0), "", u.objectOptions())
			return err
		})
		if err != nil {
			return u.badDigest(err)
		}
		u.report(u.entry.Size, 0, false)
	} else if err := u.parts(ctx); err != nil {
		return err
	}
	return u.check(ctx)
}

func (u *upload) objectOptions() minio.PutObjectOptions {
	return minio.PutObjectOptions{
		ContentType:          "application/octet-stream",
		UserMetadata:         map[string]string{metaSHA256: u.entry.SHA256},
		DisableContentSha256: true,
	}
}

// stored tells whether the object is there with the content's size: the
// content was stored before (by this run or another) and is not sent
// again.
func (u *upload) stored(ctx context.Context) (bool, error) {
	var info minio.ObjectInfo
	err := u.s.retry(ctx, "stat "+u.key, func() error {
		var err error
		info, err = u.s.client.StatObject(ctx, u.s.loc.Bucket, u.key, minio.StatObjectOptions{})
		return err
	})
	if isNoSuchKey(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return info.Size == u.entry.Size, nil
}

// check confirms that the object the server now holds has the file's size
// and sha256.
func (u *upload) check(ctx context.Context) error {
	var info minio.ObjectInfo
	err := u.s.retry(ctx, "stat "+u.key, func() error {
		var err error
		info, err = u.s.client.StatObject(ctx, u.s.loc.Bucket, u.key, minio.StatObjectOptions{})
		return err
	})
	if err != nil {
		return err
	}
	if info.Size != u.entry.Size || info.UserMetadata[metaSHA256] != u.entry.SHA256 {
		return fmt.Errorf("%s: %w: the server holds %d bytes with sha256 %q, sent %d bytes with sha256 %s",
			u.key, ErrCorrupt, info.Size, info.UserMetadata[metaSHA256], u.entry.Size, u.entry.SHA256)
	}
	return nil
}

// badDigest explains the server's refusal of a part whose bytes do not
// have the MD5 the hashing pass found: the source changed under the
// upload.
func (u *upload) badDigest(err error) error {
	if s3Error(err).Code == "BadDigest" {
		return fmt.Errorf("%w: the source changed while it was uploaded (%v)", ErrCorrupt, err)
	}
	return err
}

// parts sends the file in parts, resuming an upload of the same content
// that is already under way if there is one, and completes it.
func (u *upload) parts(ctx context.Context) error {
	nparts := len(u.d.md5s)
	uploadID, have, err := u.resumable(ctx)
	if err != nil {
		return err
	}
	if uploadID, err = u.begin(ctx, uploadID); err != nil {
		return err
	}
	complete := make([]minio.CompletePart, nparts)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(u.s.opts.Parallel)
	for i := range nparts {
		off := int64(i) * u.partSize
		n := min(u.partSize, u.entry.Size-off)
		if etag, ok := have[i+1]; ok {
			complete[i] = minio.CompletePart{PartNumber: i + 1, ETag: etag}
			u.report(n, n, false)
			continue
		}
		g.Go(func() error {
			op := fmt.Sprintf("put part %d of %d of %s", i+1, nparts, u.key)
			return u.s.retry(gctx, op, func() error {
				p, err := u.s.core.PutObjectPart(gctx, u.s.loc.Bucket, u.key, uploadID, i+1,
					io.NewSectionReader(u.src, off, n), n,
					minio.PutObjectPartOptions{Md5Base64: u.d.md5Base64(i), DisableContentSha256: true})
				if err != nil {
					return u.badDigest(err)
				}
				complete[i] = minio.CompletePart{PartNumber: i + 1, ETag: p.ETag}
				u.report(n, 0, false)
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		return err // the parts sent stay, for the next Put to resume
	}
	return u.complete(ctx, uploadID, complete)
}

// begin returns uploadID, or when it is "" the id of a new multipart
// upload of the object.
func (u *upload) begin(ctx context.Context, uploadID string) (string, error) {
	if uploadID != "" {
		return uploadID, nil
	}
	err := u.s.retry(ctx, "start multipart upload of "+u.key, func() error {
		var err error
		uploadID, err = u.s.core.NewMultipartUpload(ctx, u.s.loc.Bucket, u.key, u.objectOptions())
		return err
	})
	return uploadID, err
}

// complete completes a multipart upload from its parts.
func (u *upload) complete(ctx context.Context, uploadID string, parts []minio.CompletePart) error {
	err := u.s.retry(ctx, "complete multipart upload of "+u.key, func() error {
		_, err := u.s.core.CompleteMultipartUpload(ctx, u.s.loc.Bucket, u.key, uploadID, parts, minio.PutObjectOptions{})
		return err
	})
	if isNoSuchKey(err) {
		// An earlier attempt completed it and its answer was lost, or
		// another replica completed the same content: check decides.
		return nil
	}
	return err
}

// resumable finds an upload of this content left under way, and which of
// its parts are already there with the right size and MD5 (by part
// number, with their ETags). Among several (two replicas started the
// same content), it takes the one with the most bytes in place; the
// others are left to finish or to AbortStale.
func (u *upload) resumable(ctx context.Context) (string, map[int]string, error) {
	var best string
	var bestHave map[int]string
	var bestBytes int64 = -1
	ups, err := u.s.uploads(ctx, u.key)
	if err != nil {
		return "", nil, err
	}
	for _, up := range ups {
		if up.Key != u.key {
			continue
		}
		have, bytes, err := u.partsIn(ctx, up.UploadID)
		if isNoSuchKey(err) {
			continue // completed or aborted meanwhile
		}
		if err != nil {
			return "", nil, err
		}
		if bytes > bestBytes {
			best, bestHave, bestBytes = up.UploadID, have, bytes
		}
	}
	return best, bestHave, nil
}

// partsIn lists the parts of an upload that match the file.
func (u *upload) partsIn(ctx context.Context, uploadID string) (map[int]string, int64, error) {
	parts, err := u.s.listParts(ctx, u.key, uploadID)
	if err != nil {
		return nil, 0, err
	}
	have := map[int]string{}
	var total int64
	for _, p := range parts {
		i := p.PartNumber - 1
		if i < 0 || i >= len(u.d.md5s) {
			continue
		}
		want := min(u.partSize, u.entry.Size-int64(i)*u.partSize)
		if p.Size == want && strings.Trim(p.ETag, `"`) == u.d.md5Hex(i) {
			have[p.PartNumber] = p.ETag
			total += p.Size
		}
	}
	return have, total, nil
}

// uploads lists the multipart uploads under way whose keys start with
// prefix.
func (s *S3) uploads(ctx context.Context, prefix string) ([]minio.ObjectMultipartInfo, error) {
	var out []minio.ObjectMultipartInfo
	var keyMarker, idMarker string
	for {
		var res minio.ListMultipartUploadsResult
		err := s.retry(ctx, "list multipart uploads under "+prefix, func() error {
			var err error
			res, err = s.core.ListMultipartUploads(ctx, s.loc.Bucket, prefix, keyMarker, idMarker, "", 1000)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Uploads...)
		if !res.IsTruncated || (res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == idMarker) {
			return out, nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// AbortStale aborts the multipart uploads of this store's objects that
// were started more than olderThan ago and never completed — an upload
// whose source is gone, which no Put will resume — so that their parts
// stop taking space. It returns how many it aborted. Choose olderThan
// well above the longest upload (a day is usual, as S3's lifecycle rule
// AbortIncompleteMultipartUpload would): an upload still under way that
// is aborted fails, and its next Put starts over.
func (s *S3) AbortStale(ctx context.Context, olderThan time.Duration) (int, error) {
	ups, err := s.uploads(ctx, s.key("objects")+"/")
	if err != nil {
		return 0, fmt.Errorf("abort stale uploads: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	slices.SortFunc(ups, func(a, b minio.ObjectMultipartInfo) int { return a.Initiated.Compare(b.Initiated) })
	n := 0
	for _, up := range ups {
		if !up.Initiated.Before(cutoff) {
			break
		}
		err := s.retry(ctx, "abort multipart upload of "+up.Key, func() error {
			return s.core.AbortMultipartUpload(ctx, s.loc.Bucket, up.Key, up.UploadID)
		})
		if err != nil && !isNoSuchKey(err) {
			return n, fmt.Errorf("abort stale uploads: %w", err)
		}
		if err == nil {
			n++
		}
	}
	return n, nil
}
