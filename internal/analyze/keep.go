package analyze

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// A keep block holds text that people wrote into a generated file. It sits
// between two marker lines, which Markdown renders as nothing:
//
//	<!-- runlog:keep observations k3v9x2ab -->
//	…anything…
//	<!-- /runlog:keep -->
//
// The name after runlog:keep says where the block belongs: "intro" and
// "findings" for the whole log, "observations RUN-ID" for one run.
// Regenerating a file puts every block back where it belongs, verbatim, and
// moves those whose place is gone (a run no longer in the log) to a section
// of their own, so that nothing written is ever lost.
const (
	keepPrefix = "<!-- runlog:keep "
	keepSuffix = " -->"
	keepEnd    = "<!-- /runlog:keep -->"
	// signaturePrefix starts the last line of a generated file; it holds a
	// hash of everything outside the keep blocks, which tells whether
	// someone edited the file outside them.
	signaturePrefix = "<!-- runlog:report sha256="
)

// keepName is what a keep block's name may be. Compiled on first use, not
// at every start of the runlog command: the bounded repetition makes a large
// program (~120 KB, a quarter of a millisecond).
var keepName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$`)
})

// block is a keep block of a file.
type block struct {
	name string
	text string // the lines between the markers, verbatim
	line int    // of the start marker, from 1
}

// parseBlocks returns the keep blocks of doc in order. Markers that do not
// pair up, and two blocks of one name, are errors: writing the file again
// could lose text.
func parseBlocks(doc string) ([]block, error) {
	var blocks []block
	var cur *block
	var lines []string
	seen := map[string]int{}
	for i, line := range strings.Split(doc, "\n") {
		t := strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		switch {
		case strings.HasPrefix(t, keepPrefix) && strings.HasSuffix(t, keepSuffix):
			name := strings.TrimSpace(t[len(keepPrefix) : len(t)-len(keepSuffix)])
			if cur != nil {
				return nil, fmt.Errorf("line %d: block %q starts inside block %q (line %d); close that one with %s first", i+1, name, cur.name, cur.line, keepEnd)
			}
			if !keepName().MatchString(name) {
				return nil, fmt.Errorf("line %d: %q is not a block name: use letters, digits, spaces, '.', '_' and '-'", i+1, name)
			}
			if l, ok := seen[name]; ok {
				return nil, fmt.Errorf("line %d: a second block %q (the first is at line %d); merge them into one", i+1, name, l)
			}
			seen[name] = i + 1
			cur, lines = &block{name: name, line: i + 1}, nil
		case t == keepEnd:
			if cur == nil {
				return nil, fmt.Errorf("line %d: %s closes no block; delete it or add the %sNAME%s line it belongs to", i+1, keepEnd, keepPrefix, keepSuffix)
			}
			cur.text = strings.Join(lines, "\n")
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			lines = append(lines, line)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: block %q is not closed; add %s after its text", cur.line, cur.name, keepEnd)
	}
	return blocks, nil
}

// writeBlock writes a keep block.
func writeBlock(b *strings.Builder, name, text string) {
	b.WriteString(keepPrefix + name + keepSuffix + "\n")
	if text != "" {
		b.WriteString(text + "\n")
	}
	b.WriteString(keepEnd + "\n")
}

// skeleton returns doc without the text of its keep blocks and without its
// signature line: what the generator wrote.
func skeleton(doc string) string {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(doc, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, keepPrefix):
			in = true
		case t == keepEnd:
			in = false
		case in || strings.HasPrefix(t, signaturePrefix):
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func signature(doc string) string {
	sum := sha256.Sum256([]byte(skeleton(doc)))
	return signaturePrefix + hex.EncodeToString(sum[:]) + keepSuffix
}

// Edited reports what became of a file that `runlog report` wrote before:
// generated is false when it has no signature (runlog did not write it,
// or its last line was deleted), and edited is true when text outside the
// keep blocks changed since, which regenerating would replace.
func Edited(doc []byte) (generated, edited bool) {
	s := strings.TrimRight(string(doc), "\n")
	i := strings.LastIndexByte(s, '\n')
	last := strings.TrimSpace(s[i+1:])
	if !strings.HasPrefix(last, signaturePrefix) {
		return false, false
	}
	return true, last != signature(string(doc))
}
