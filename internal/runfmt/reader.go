package runfmt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// ErrNotRunLog is returned for a file that does not start with Magic.
var ErrNotRunLog = errors.New("not a run.log (bad magic)")

// Corruption describes bytes of a run.log that a reader skipped: a record in
// the middle of the file that failed its checksum, or that could not be
// decoded.
type Corruption struct {
	File   string
	Offset int64 // of the first skipped byte
	Length int64 // number of bytes skipped
	Reason string
}

func (c Corruption) Error() string {
	return fmt.Sprintf("%s: offset %d: skipped %d corrupt bytes: %s", c.File, c.Offset, c.Length, c.Reason)
}

// Record is one record of a run.log. Payload points into the reader's
// buffer and is valid only until the next call to Next.
type Record struct {
	Type    Type
	Seq     uint64
	Offset  int64 // of the record's frame
	Payload []byte
}

// Size returns the number of bytes the record takes in the file.
func (r Record) Size() int64 {
	return int64(frameHeaderSize + bodyHeaderSize + len(r.Payload))
}

// Reader reads the records of a run.log in order. It verifies every
// record's checksum; a bad record followed by good ones is skipped and
// reported through Skipped, while bad bytes at the end (a torn tail from a
// crash, or a record still being written) end the log and are reported by
// Torn.
type Reader struct {
	r     io.Reader
	name  string
	buf   []byte
	pos   int   // next unread byte in buf
	end   int   // end of valid data in buf
	base  int64 // file offset of buf[0]
	eof   bool
	err   error // sticky read error
	magic bool  // magic still to be checked

	good    int64 // offset just after the last good record
	torn    int64 // bytes of torn tail at the end, once known
	skipped []Corruption
}

// Buffer sizes: a reader starts small, since most reads are the few new
// bytes of a live run, and grows to readChunk for bulk reads.
const (
	initialBuffer = 64 << 10
	readChunk     = 1 << 20
)

// NewReader returns a reader of the run.log read from r, which starts at the
// beginning of the file. name is used in error messages.
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{r: r, name: name, buf: make([]byte, initialBuffer), magic: true}
}

// NewReaderAt returns a reader that continues reading a run.log at offset,
// which must be the end of a record previously read (or the end of the
// magic). r must be positioned at offset.
func NewReaderAt(r io.Reader, name string, offset int64) *Reader {
	if offset == 0 {
		return NewReader(r, name)
	}
	return &Reader{r: r, name: name, buf: make([]byte, initialBuffer), base: offset, good: offset}
}

// Offset returns the file offset just after the last good record returned
// by Next (or after the magic). Reading again from there resumes the log.
func (r *Reader) Offset() int64 { return r.good }

// Torn returns the number of bytes at the end of the file that did not form
// a complete record. It is known once Next has returned io.EOF.
func (r *Reader) Torn() int64 { return r.torn }

// Skipped returns the corrupt regions skipped so far.
func (r *Reader) Skipped() []Corruption { return r.skipped }

// fill makes at least n bytes available from r.pos, unless the file ends
// first. It reports whether n bytes are available. It may move the buffered
// bytes, so indexes into r.buf must be computed from r.pos after it returns.
func (r *Reader) fill(n int) bool {
	for r.end-r.pos < n {
		if r.eof || r.err != nil {
			return false
		}
		if r.pos > 0 { // slide the unread bytes to the front
			copy(r.buf, r.buf[r.pos:r.end])
			r.end -= r.pos
			r.base += int64(r.pos)
			r.pos = 0
		}
		if r.end == len(r.buf) { // full: grow, but only as far as the file goes
			nb := make([]byte, min(2*len(r.buf), n+readChunk))
			copy(nb, r.buf[:r.end])
			r.buf = nb
		}
		m, err := r.r.Read(r.buf[r.end:])
		r.end += m
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			r.err = fmt.Errorf("read %s: %w", r.name, err)
		}
	}
	return true
}

// frameAt checks whether a valid record starts d bytes after r.pos. It
// returns the record's total size, or 0 if none does; incomplete reports
// that the file ends before the record it announces would.
func (r *Reader) frameAt(d int) (size int, incomplete bool) {
	if !r.fill(d + frameHeaderSize) {
		return 0, true
	}
	n := int(binary.LittleEndian.Uint32(r.buf[r.pos+d:]))
	if n < bodyHeaderSize || n > MaxBodySize {
		return 0, false
	}
	if !r.fill(d + frameHeaderSize + n) {
		return 0, true
	}
	p := r.pos + d
	body := r.buf[p+frameHeaderSize : p+frameHeaderSize+n]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(r.buf[p+4:]) {
		return 0, false
	}
	return frameHeaderSize + n, false
}

// Next returns the next good record. At the end of the log it returns
// io.EOF; other errors are I/O errors or ErrNotRunLog.
func (r *Reader) Next() (Record, error) {
	if r.magic {
		r.magic = false
		if !r.fill(len(Magic)) {
			if r.err != nil {
				return Record{}, r.err
			}
			r.torn = int64(r.end - r.pos)
			return Record{}, io.EOF
		}
		if string(r.buf[r.pos:r.pos+len(Magic)]) != Magic {
			return Record{}, fmt.Errorf("%s: %w", r.name, ErrNotRunLog)
		}
		r.pos += len(Magic)
		r.good = r.base + int64(r.pos)
	}
	size, incomplete := r.frameAt(0)
	if size == 0 {
		if r.err != nil {
			return Record{}, r.err
		}
		if incomplete && r.end == r.pos {
			return Record{}, io.EOF // clean end
		}
		if !r.resync(incomplete) {
			if r.err != nil {
				return Record{}, r.err
			}
			return Record{}, io.EOF
		}
		size, _ = r.frameAt(0)
	}
	p := r.pos
	rec := Record{
		Type:    Type(r.buf[p+frameHeaderSize]),
		Seq:     binary.LittleEndian.Uint64(r.buf[p+frameHeaderSize+1:]),
		Offset:  r.base + int64(p),
		Payload: r.buf[p+frameHeaderSize+bodyHeaderSize : p+size],
	}
	r.pos += size
	r.good = r.base + int64(r.pos)
	return rec, nil
}

// resync looks for the next good record after a bad one at r.pos. If it
// finds one, the bytes in between are recorded as skipped and r.pos moves to
// it. If the file ends first, the bytes from r.pos on are a torn tail.
func (r *Reader) resync(incomplete bool) bool {
	start := r.base + int64(r.pos)
	reason := "checksum mismatch or bad length"
	if incomplete {
		reason = "record cut short"
	}
	for d := 1; r.fill(d + 1); d++ {
		if size, _ := r.frameAt(d); size > 0 {
			r.skipped = append(r.skipped, Corruption{File: r.name, Offset: start, Length: int64(d), Reason: reason})
			r.pos += d
			return true
		}
	}
	r.torn = r.base + int64(r.end) - start
	r.pos = r.end
	return false
}

// Metrics is the decoded payload of a metrics record.
type Metrics struct {
	Step  int64
	Time  float64
	pairs []byte
}

// Len returns the number of values in the record.
func (m Metrics) Len() int { return len(m.pairs) / metricPairSize }

// At returns the key id and value of the i-th value.
func (m Metrics) At(i int) (key uint32, value float64) {
	p := m.pairs[i*metricPairSize:]
	return binary.LittleEndian.Uint32(p), math.Float64frombits(binary.LittleEndian.Uint64(p[4:]))
}

// Metrics decodes a metrics record.
func (r Record) Metrics() (Metrics, error) {
	p := r.Payload
	if r.Type != TypeMetrics || len(p) < metricsFixed || (len(p)-metricsFixed)%metricPairSize != 0 {
		return Metrics{}, fmt.Errorf("malformed metrics record of %d bytes at offset %d", len(p), r.Offset)
	}
	return Metrics{
		Step:  int64(binary.LittleEndian.Uint64(p)),
		Time:  math.Float64frombits(binary.LittleEndian.Uint64(p[8:])),
		pairs: p[metricsFixed:],
	}, nil
}

// Key decodes a key record.
func (r Record) Key() (id uint32, name string, err error) {
	if r.Type != TypeKey || len(r.Payload) < 4 {
		return 0, "", fmt.Errorf("malformed key record at offset %d", r.Offset)
	}
	name = string(r.Payload[4:])
	if err := CheckKey(name); err != nil {
		return 0, "", fmt.Errorf("key record at offset %d: %w", r.Offset, err)
	}
	return binary.LittleEndian.Uint32(r.Payload), name, nil
}

// Heartbeat decodes a heartbeat record.
func (r Record) Heartbeat() (float64, error) {
	if r.Type != TypeHeartbeat || len(r.Payload) != 8 {
		return 0, fmt.Errorf("malformed heartbeat record at offset %d", r.Offset)
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(r.Payload)), nil
}

// DecodeJSON decodes the JSON payload of a record into v.
func (r Record) DecodeJSON(v any) error {
	if err := json.Unmarshal(r.Payload, v); err != nil {
		return fmt.Errorf("%s record at offset %d: %w", r.Type, r.Offset, err)
	}
	return nil
}
