// Package tbimport imports TensorBoard event files into runlog: the scalars
// that TensorBoard's SummaryWriter (PyTorch's torch.utils.tensorboard,
// tensorboardX, TensorFlow) writes become points of runlog series, one
// runlog run per folder of event files; its images, histograms and texts
// become runlog's rich values (rich.go): images keep their encoded bytes
// as files under media/, histograms their bins as TensorBoard reads them.
//
// Event files are TFRecord files of Event protocol buffers. This package
// reads both by hand — the framing with its CRC-32C checks, and the few
// protobuf fields that hold scalars and rich values — with no dependency.
package tbimport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A TFRecord file is a sequence of records:
//
//	uint64  length, little-endian
//	uint32  masked CRC-32C of the 8 length bytes
//	bytes   data, length bytes
//	uint32  masked CRC-32C of the data
//
// where masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return (c>>15 | c<<17) + 0xa282ead8
}

// Frame sizes.
const (
	headerSize = 12 // length and its CRC
	footerSize = 4  // CRC of the data
	// maxRecord bounds the length a reader believes: no event of a real
	// file comes near it, and a corrupt length must not make the reader
	// wait for gigabytes.
	maxRecord = 256 << 20
)

// Corruption describes bytes of an event file that a reader skipped.
type Corruption struct {
	File   string
	Offset int64 // of the first skipped byte
	Length int64 // bytes skipped
	Reason string
}

func (c *Corruption) Error() string {
	return fmt.Sprintf("%s: offset %d: skipped %d corrupt bytes (%s); imported the records after them", c.File, c.Offset, c.Length, c.Reason)
}

// Truncated describes a last record that the file ends in the middle of:
// the writer was killed, or is still writing it.
type Truncated struct {
	File   string
	Offset int64 // where the incomplete record starts
	Have   int64 // bytes of it in the file
	Want   int64 // bytes it would take, if its length is known (else 0)
}

func (t *Truncated) Error() string {
	if t.Want > 0 {
		return fmt.Sprintf("%s: offset %d: the last record is cut short (%d of %d bytes); the next import reads it once it is complete", t.File, t.Offset, t.Have, t.Want)
	}
	return fmt.Sprintf("%s: offset %d: the last record is cut short (%d bytes); the next import reads it once it is complete", t.File, t.Offset, t.Have)
}

// Reader reads the records of a TFRecord file, checking both CRCs of each.
// A bad record followed by good ones is skipped and reported by Skipped;
// bytes at the end that do not form a whole record end the file and are
// reported by Truncated.
type Reader struct {
	r    io.Reader
	name string
	buf  []byte
	pos  int   // next unread byte in buf
	end  int   // end of data in buf
	base int64 // file offset of buf[0]
	eof  bool
	err  error

	good      int64 // offset after the last good record
	skipped   []Corruption
	truncated *Truncated
}

const readChunk = 1 << 20

// NewReader returns a reader of the records of r, which is positioned at
// offset, the start of a record. name is used in errors.
func NewReader(r io.Reader, name string, offset int64) *Reader {
	return &Reader{r: r, name: name, buf: make([]byte, readChunk), base: offset, good: offset}
}

// Offset returns the offset just after the last good record read: where a
// later read resumes.
func (r *Reader) Offset() int64 { return r.good }

// Skipped returns the corrupt regions skipped so far.
func (r *Reader) Skipped() []Corruption { return r.skipped }

// Truncated returns the incomplete last record, once Next has returned
// io.EOF, or nil.
func (r *Reader) Truncated() *Truncated { return r.truncated }

// fill makes n bytes available from r.pos unless the file ends first, and
// reports whether they are.
func (r *Reader) fill(n int) bool {
	for r.end-r.pos < n {
		if r.eof || r.err != nil {
			return false
		}
		if r.pos > 0 {
			copy(r.buf, r.buf[r.pos:r.end])
			r.end -= r.pos
			r.base += int64(r.pos)
			r.pos = 0
		}
		if n > len(r.buf) {
			nb := make([]byte, n+readChunk)
			copy(nb, r.buf[:r.end])
			r.buf = nb
		}
		m, err := r.r.Read(r.buf[r.end:])
		r.end += m
		if errors.Is(err, io.EOF) {
			r.eof = true
		} else if err != nil {
			r.err = fmt.Errorf("read %s: %w", r.name, err)
		}
	}
	return true
}

// frameAt checks whether a whole, valid record starts d bytes after r.pos.
// It returns the record's size, or 0; incomplete reports that the file
// ends before the record its header announces would, with want its size
// when the header is good.
func (r *Reader) frameAt(d int) (size int, incomplete bool, want int64) {
	if !r.fill(d + headerSize) {
		return 0, true, 0
	}
	h := r.buf[r.pos+d:]
	n := binary.LittleEndian.Uint64(h)
	if maskedCRC(h[:8]) != binary.LittleEndian.Uint32(h[8:]) || n > maxRecord {
		return 0, false, 0
	}
	total := headerSize + int(n) + footerSize
	if !r.fill(d + total) {
		return 0, true, int64(total)
	}
	p := r.pos + d
	data := r.buf[p+headerSize : p+headerSize+int(n)]
	if maskedCRC(data) != binary.LittleEndian.Uint32(r.buf[p+headerSize+int(n):]) {
		return 0, false, 0
	}
	return total, false, 0
}

// Next returns the data of the next good record, valid until the next
// call. At the end of the file it returns io.EOF; other errors are I/O
// errors.
func (r *Reader) Next() ([]byte, error) {
	size, incomplete, want := r.frameAt(0)
	if size == 0 {
		if r.err != nil {
			return nil, r.err
		}
		if incomplete && r.end == r.pos {
			return nil, io.EOF
		}
		if !r.resync(incomplete, want) {
			if r.err != nil {
				return nil, r.err
			}
			return nil, io.EOF
		}
		size, _, _ = r.frameAt(0)
	}
	p := r.pos
	r.pos += size
	r.good = r.base + int64(r.pos)
	return r.buf[p+headerSize : p+size-footerSize], nil
}

// resync looks for the next good record after a bad one at r.pos. If one
// follows, the bytes before it are recorded as skipped; if the file ends
// first, they are the truncated last record.
func (r *Reader) resync(incomplete bool, want int64) bool {
	start := r.base + int64(r.pos)
	for d := 1; r.fill(d + headerSize); d++ {
		if size, _, _ := r.frameAt(d); size > 0 {
			reason := "bad CRC or length"
			if incomplete {
				reason = "a record cut short"
			}
			r.skipped = append(r.skipped, Corruption{File: r.name, Offset: start, Length: int64(d), Reason: reason})
			r.pos += d
			return true
		}
	}
	have := r.base + int64(r.end) - start
	if incomplete || have < headerSize {
		r.truncated = &Truncated{File: r.name, Offset: start, Have: have, Want: want}
	} else {
		r.skipped = append(r.skipped, Corruption{File: r.name, Offset: start, Length: have, Reason: "bad CRC or length, up to the end of the file"})
		r.good = r.base + int64(r.end)
	}
	r.pos = r.end
	return false
}
