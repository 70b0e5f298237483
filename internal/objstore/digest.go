package objstore

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// digests are the hashes of one pass over a source: the sha256 of the
// whole, which names its object, and the MD5 of each part, which the S3
// server checks each part against as it receives it. Both come from the
// same bytes, so an object the server accepted holds the bytes whose
// sha256 names it, even if the source changed between the pass and the
// upload (the server then refuses the changed part).
type digests struct {
	sum  string   // sha256 of the whole, hex
	md5s [][]byte // MD5 of each part
}

func (d digests) md5Base64(part int) string { return base64.StdEncoding.EncodeToString(d.md5s[part]) }
func (d digests) md5Hex(part int) string    { return hex.EncodeToString(d.md5s[part]) }

// digestBlock is the unit the hashing pass reads: small enough to keep
// memory flat, large enough to keep the syscall count low.
const digestBlock = 1 << 20

// digest reads size bytes of src once, in order, hashing sha256 on this
// goroutine and the parts' MD5 on another, so that on two cores the two
// hashes cost the time of the slower one.
func digest(ctx context.Context, src io.ReaderAt, size, partSize int64) (digests, error) {
	type block struct {
		b    []byte
		part int
		last bool // the block ends its part
	}
	const inFlight = 4
	free := make(chan []byte, inFlight)
	for range inFlight {
		free <- make([]byte, digestBlock)
	}
	blocks := make(chan block, inFlight)
	nparts := max(1, int((size+partSize-1)/partSize))
	md5s := make([][]byte, nparts)
	md5Done := make(chan struct{})
	go func() {
		defer close(md5Done)
		var h hash.Hash
		for b := range blocks {
			if h == nil {
				h = md5.New()
			}
			h.Write(b.b)
			if b.last {
				md5s[b.part] = h.Sum(nil)
				h = nil
			}
			free <- b.b[:cap(b.b)]
		}
	}()
	sha := sha256.New()
	var err error
	for off := int64(0); off < size || (size == 0 && off == 0); {
		if err = ctx.Err(); err != nil {
			break
		}
		part := int(off / partSize)
		end := min(size, int64(part+1)*partSize, off+digestBlock)
		b := <-free
		b = b[:end-off]
		var n int
		n, err = src.ReadAt(b, off)
		if n == len(b) {
			err = nil
		} else if err == nil || err == io.EOF {
			err = fmt.Errorf("source ended at %d bytes, before its size %d", off+int64(n), size)
		}
		if err != nil {
			free <- b
			break
		}
		sha.Write(b)
		blocks <- block{b: b, part: part, last: end == size || end == int64(part+1)*partSize}
		off = end
		if size == 0 {
			break
		}
	}
	close(blocks)
	<-md5Done
	if err != nil {
		return digests{}, fmt.Errorf("read source: %w", err)
	}
	return digests{sum: hex.EncodeToString(sha.Sum(nil)), md5s: md5s}, nil
}
