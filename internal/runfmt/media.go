package runfmt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/runlog/runlog/internal/atomicfile"
)

// Limits of rich values (docs/run-log-format.md, "Rich values").
const (
	MaxValueText   = 1 << 20 // bytes of a text value
	MaxBins        = 512     // bins of a histogram
	MaxImagePixels = 1 << 24 // pixels of an image (4096 × 4096)
	MaxImageSide   = 16384   // pixels on either side of an image
	mediaDirMax    = 200     // bytes of a key's folder name under media/
	mediaDirCut    = 183     // bytes kept of a longer one, before ~ and a hash
	MediaHashLen   = 16      // hex digits of the SHA-256 in a media file's name
	MediaFolder    = "media" // the folder of a run that holds media files
	tableExt       = "table.json"
)

// Text is the payload of a text record: a text value of a key at a step.
type Text struct {
	Key  string  `json:"key"`
	Step int64   `json:"step"`
	Time float64 `json:"time"`
	Text string  `json:"text"`
}

// Histogram is the payload of a histogram record: a distribution of values
// of a key at a step, as bins. Bin i holds the values in
// [Edges[i], Edges[i+1]), the last bin its right edge too; NaN, Inf and
// NInf count the values that were NaN, +Inf and -Inf, which no bin holds.
type Histogram struct {
	Key    string    `json:"key"`
	Step   int64     `json:"step"`
	Time   float64   `json:"time"`
	Edges  []float64 `json:"edges"`
	Counts []float64 `json:"counts"`
	NaN    int64     `json:"nan,omitempty"`
	Inf    int64     `json:"inf,omitempty"`
	NInf   int64     `json:"ninf,omitempty"`
}

// Check returns an error unless h follows the rules of a histogram record:
// a valid key, a plausible time, 1 to MaxBins finite counts that are not
// negative, and one more edge than counts, finite and strictly increasing.
func (h *Histogram) Check() error {
	if err := CheckKey(h.Key); err != nil {
		return err
	}
	if err := CheckTime(h.Time); err != nil {
		return err
	}
	n := len(h.Counts)
	if n == 0 || n > MaxBins {
		return fmt.Errorf("%w: histogram %q has %d bins: 1 to %d are allowed", ErrInvalid, h.Key, n, MaxBins)
	}
	if len(h.Edges) != n+1 {
		return fmt.Errorf("%w: histogram %q has %d edges for %d bins: it needs %d", ErrInvalid, h.Key, len(h.Edges), n, n+1)
	}
	for i, c := range h.Counts {
		if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
			return fmt.Errorf("%w: histogram %q: count %d is %v: counts are finite and not negative", ErrInvalid, h.Key, i, c)
		}
	}
	for i, e := range h.Edges {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return fmt.Errorf("%w: histogram %q: edge %d is %v: edges are finite", ErrInvalid, h.Key, i, e)
		}
		if i > 0 && e <= h.Edges[i-1] {
			return fmt.Errorf("%w: histogram %q: edges must increase, but edge %d (%v) follows %v", ErrInvalid, h.Key, i, e, h.Edges[i-1])
		}
	}
	if h.NaN < 0 || h.Inf < 0 || h.NInf < 0 {
		return fmt.Errorf("%w: histogram %q: negative count of non-finite values", ErrInvalid, h.Key)
	}
	return nil
}

// Media kinds, the kind field of a media record. MediaText and
// MediaHistogram name the values of text and histogram records where
// views list every kind together.
const (
	MediaImage     = "image"
	MediaTable     = "table"
	MediaHTML      = "html"
	MediaText      = "text"
	MediaHistogram = "histogram"
)

// Media is the payload of a media record: an image, a table or an HTML
// document of a key at a step, in the file Path of the run folder (always
// under media/).
type Media struct {
	Key     string   `json:"key"`
	Step    int64    `json:"step"`
	Time    float64  `json:"time"`
	Kind    string   `json:"kind"`
	Path    string   `json:"path,omitempty"`
	Size    int64    `json:"size,omitempty"`
	SHA256  string   `json:"sha256,omitempty"`
	Format  string   `json:"format,omitempty"`
	Width   int      `json:"width,omitempty"`
	Height  int      `json:"height,omitempty"`
	Rows    int      `json:"rows,omitempty"`
	Columns []string `json:"columns,omitempty"`
	Caption string   `json:"caption,omitempty"`
	// Index is the value's place in a list logged at once; nil for a
	// value logged alone.
	Index *int `json:"index,omitempty"`
}

// Check returns an error unless m is a media record a reader may use: a
// valid key and time, a known kind, and a path that is a plain relative
// path under media/.
func (m *Media) Check() error {
	if err := CheckKey(m.Key); err != nil {
		return err
	}
	if err := CheckTime(m.Time); err != nil {
		return err
	}
	switch m.Kind {
	case MediaImage, MediaTable, MediaHTML:
	default:
		return fmt.Errorf("%w: media %q: unknown kind %q", ErrInvalid, m.Key, m.Kind)
	}
	return CheckMediaPath(m.Path)
}

// CheckMediaPath returns an error unless p is a plain relative path under
// media/: no absolute path, no "..", "." or empty parts, no backslash or
// NUL. Readers never build paths from keys; they check the record's.
func CheckMediaPath(p string) error {
	rest, ok := strings.CutPrefix(p, MediaFolder+"/")
	if !ok || rest == "" || strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("%w: media path %q is not under %s/", ErrInvalid, p, MediaFolder)
	}
	for part := range strings.SplitSeq(rest, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("%w: media path %q is not a plain path under %s/", ErrInvalid, p, MediaFolder)
		}
	}
	return nil
}

// MediaDir returns the folder name that holds the media files of key
// under media/: the bytes A-Z a-z 0-9 - _ kept, "." kept unless it comes
// first, every other byte written %XX; a name over 200 bytes is cut to
// 183 (never inside a %XX) and ended with "~" and 16 hex digits of the
// key's SHA-256. No key yields a name that leaves media/.
func MediaDir(key string) string {
	var b strings.Builder
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	s := b.String()
	if len(s) <= mediaDirMax {
		return s
	}
	cut := mediaDirCut
	if i := strings.LastIndexByte(s[:cut], '%'); i >= cut-2 {
		cut = i
	}
	sum := sha256.Sum256([]byte(key))
	return s[:cut] + "~" + hex.EncodeToString(sum[:])[:MediaHashLen]
}

// MediaPath returns the path, relative to the run folder, of the media file
// of key at step whose content has the SHA-256 sha (hex) and whose name
// ends in ext ("png", "table.json", "html"…).
func MediaPath(key string, step int64, sha, ext string) string {
	return MediaFolder + "/" + MediaDir(key) + "/" + strconv.FormatInt(step, 10) + "-" + sha[:MediaHashLen] + "." + ext
}

// TableExt is the ending of a table's file name.
const TableExt = tableExt

// Text decodes a text record and checks its key and time. Text that is not
// valid UTF-8 has its bad bytes replaced by U+FFFD, as writers should have.
func (r Record) Text() (Text, error) {
	var t Text
	if r.Type != TypeText {
		return t, fmt.Errorf("%s record at offset %d is not a text record", r.Type, r.Offset)
	}
	if err := r.DecodeJSON(&t); err != nil {
		return t, err
	}
	if err := CheckKey(t.Key); err != nil {
		return t, err
	}
	if err := CheckTime(t.Time); err != nil {
		return t, err
	}
	t.Text = strings.ToValidUTF8(t.Text, "\uFFFD")
	return t, nil
}

// Histogram decodes a histogram record and checks it (Histogram.Check).
func (r Record) Histogram() (Histogram, error) {
	var h Histogram
	if r.Type != TypeHistogram {
		return h, fmt.Errorf("%s record at offset %d is not a histogram record", r.Type, r.Offset)
	}
	if err := r.DecodeJSON(&h); err != nil {
		return h, err
	}
	return h, h.Check()
}

// Media decodes a media record and checks it (Media.Check).
func (r Record) Media() (Media, error) {
	var m Media
	if r.Type != TypeMedia {
		return m, fmt.Errorf("%s record at offset %d is not a media record", r.Type, r.Offset)
	}
	if err := r.DecodeJSON(&m); err != nil {
		return m, err
	}
	return m, m.Check()
}

// CutText returns s as a text record keeps it: bytes that are not UTF-8
// replaced by U+FFFD, and cut to MaxValueText bytes at a character
// boundary.
func CutText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxValueText {
		return s
	}
	n := MaxValueText
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// MediaFiles writes the media files of one run folder, Dir, for a writer
// of its log: each file whole (atomicfile) before the record that names
// it is appended, and the same bytes under a key once, the later records
// pointing to the file written first. It is safe for concurrent use.
type MediaFiles struct {
	Dir string

	mu    sync.Mutex
	paths map[[2]string]string // by key folder and SHA-256
}

// Write writes data as the media file of m.Key at m.Step, with the name
// ending ext ("png", TableExt, "html"…), unless it was written before under
// the key, and fills in m's Path, Size and SHA256.
func (f *MediaFiles) Write(m *Media, data []byte, ext string) error {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	m.SHA256, m.Size = sha, int64(len(data))
	id := [2]string{MediaDir(m.Key), sha}
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.paths[id]; ok {
		m.Path = p
		return nil
	}
	m.Path = MediaPath(m.Key, m.Step, sha, ext)
	if err := atomicfile.WriteFile(filepath.Join(f.Dir, filepath.FromSlash(m.Path)), data); err != nil {
		return fmt.Errorf("media %q: %w", m.Key, err)
	}
	if f.paths == nil {
		f.paths = map[[2]string]string{}
	}
	f.paths[id] = m.Path
	return nil
}
