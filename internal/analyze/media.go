package analyze

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/runlog/runlog/internal/display"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// TextSample is a run's text value of a key at a step: what compare --text
// and the report show.
type TextSample struct {
	Run   store.Run
	Key   string
	Asked int64 // the step asked for
	Found bool  // whether the key has a text at or before Asked
	Step  int64 // the greatest step at or before Asked with a text
	Text  string
	// Count is how many texts the key holds at Step; Text is the last
	// logged of them.
	Count int
}

// LastStep asks TextAt for the last text of a key.
const LastStep = math.MaxInt64

// TextAt returns, for each run in order, the text of key at the greatest
// step at or before step that has one (LastStep: the last text).
func TextAt(ctx context.Context, st store.Store, runs []store.Run, key string, step int64) ([]TextSample, error) {
	out := make([]TextSample, len(runs))
	for i, r := range runs {
		s := TextSample{Run: r, Key: key, Asked: step}
		found, _, err := st.Media(ctx, r.ID, key, store.MediaQuery{AtOrBefore: &step, Kind: runfmt.MediaText})
		if err != nil {
			return nil, fmt.Errorf("run %s: texts of %q: %w", r.ID, key, err)
		}
		if n := len(found); n > 0 {
			s.Found, s.Step, s.Text, s.Count = true, found[n-1].Step, found[n-1].Text, n
		}
		out[i] = s
	}
	return out, nil
}

// LastImages returns the last image of each image key of a run, by key.
func LastImages(ctx context.Context, st store.Store, runID string) ([]store.MediaEntry, error) {
	keys, err := st.MediaKeys(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s: media keys: %w", runID, err)
	}
	var out []store.MediaEntry
	step := int64(LastStep)
	for _, k := range keys {
		if k.Kind != runfmt.MediaImage {
			continue
		}
		found, _, err := st.Media(ctx, runID, k.Key, store.MediaQuery{AtOrBefore: &step, Kind: runfmt.MediaImage})
		if err != nil {
			return nil, fmt.Errorf("run %s: images of %q: %w", runID, k.Key, err)
		}
		if n := len(found); n > 0 {
			out = append(out, found[n-1])
		}
	}
	return out, nil
}

// Limits of what the report shows of a run's rich values.
const (
	reportTextBytes = 2000 // of one text sample
	reportMediaKeys = 12   // text keys, and image keys, per run
)

// samples writes a run's last text of each text key, as a fenced block
// (text is data: never Markdown or HTML), and the last image of each image
// key, linked relative to the report's folder.
func (w *reportWriter) samples(ctx context.Context, st store.Store, r store.Run) error {
	keys, err := st.MediaKeys(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("run %s: media keys: %w", r.ID, err)
	}
	var texts []store.MediaKey
	for _, k := range keys {
		if k.Kind == runfmt.MediaText {
			texts = append(texts, k)
		}
	}
	var images []store.MediaEntry
	if r.Path != "" {
		if images, err = LastImages(ctx, st, r.ID); err != nil {
			return err
		}
	}
	if len(texts) == 0 && len(images) == 0 {
		return nil
	}
	w.p("**Samples**\n\n")
	for i, k := range texts {
		if i == reportMediaKeys {
			w.p("_%d more text keys: `runlog show %s` lists them._\n\n", len(texts)-i, r.ID)
			break
		}
		text, cut := clipText(display.Text(k.LastText), reportTextBytes)
		w.p("Last %s (step %d of %d texts):\n\n", code(display.Text(k.Key)), k.LastStep, k.Count)
		w.p("%s\n", fenced(text))
		if cut > 0 {
			w.p("_%d more bytes: `runlog compare %s --text %s --at-step %d`._\n", cut, r.ID, ShellQuote(k.Key), k.LastStep)
		}
		w.p("\n")
	}
	for i, m := range images {
		if i == reportMediaKeys {
			w.p("_%d more image keys._\n\n", len(images)-i)
			break
		}
		alt := mdText(display.Text(fmt.Sprintf("%s at step %d", m.Key, m.Step)))
		w.p("![%s](%s)\n", alt, w.mediaLink(r, m.Path))
	}
	if len(images) > 0 {
		w.p("\n")
	}
	return nil
}

// mediaLink returns the link to a media file of run r from the report's
// folder: a relative path when one exists, escaped for a Markdown link
// (a key's folder holds %XX, which a link would otherwise decode).
func (w *reportWriter) mediaLink(r store.Run, rel string) string {
	target, err := filepath.Abs(filepath.Join(r.Path, filepath.FromSlash(rel)))
	if err != nil {
		target = filepath.Join(r.Path, filepath.FromSlash(rel))
	}
	if w.opt.Dir != "" {
		if dir, err := filepath.Abs(w.opt.Dir); err == nil {
			if p, err := filepath.Rel(dir, target); err == nil {
				target = p
			}
		}
	}
	return (&url.URL{Path: filepath.ToSlash(target)}).EscapedPath()
}

// clipText returns s cut to at most n bytes at a character boundary, and
// how many bytes were cut.
func clipText(s string, n int) (string, int) {
	if len(s) <= n {
		return s, 0
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…", len(s) - cut
}

// fenced returns s as a fenced code block whose fence no line of s can
// close.
func fenced(s string) string {
	fence := "```"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + "text\n" + strings.TrimRight(s, "\n") + "\n" + fence
}
