package analyze

import (
	"context"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/store"
)

func report(t *testing.T, st store.Store, runs map[string]store.Run, old []byte, ids ...string) []byte {
	t.Helper()
	var list []store.Run
	for _, id := range ids {
		list = append(list, runs[id])
	}
	opt := ReportOptions{
		Command: "runlog report --project sweep --target val_loss=2", Targets: []Target{{Key: "val_loss", Value: 2}},
		Alpha: DefaultAlpha, Now: now,
		Plots: map[string][]string{
			"":         {"plots/all/loss_curves.png"},
			"base0001": {"plots/base0001/loss_curves.png", "plots/base0001/lr_schedule.png"},
		},
	}
	doc, err := Report(context.Background(), st, list, old, opt)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestReportGolden(t *testing.T) {
	st, runs := openRuns(t)
	doc := report(t, st, runs, nil, "base0001", "fast0002", "resm0003")
	golden(t, "EXPERIMENT_LOG.md", doc)
	for _, want := range []string{
		"[lr-1e-2](#run-base0001)",                                   // the summary links to the run's section
		`<a name="run-base0001"></a>`,                                // which has that anchor
		"what differs from its parent run, [lr-1e-2](#run-base0001)", // fast0002 was forked from base0001
		"| model.d | 128 | 64 |",
		"what differs from the first run of this log", // resm0003 has no parent
		"![lr-1e-2: loss by step and by wallclock time](plots/base0001/loss_curves.png)",
		"step 80 · 18m11s (active 1m31s) — 35.2× slower than lr-1e-2 (active time 2.9× slower, 1.3× more steps)",
		"<!-- runlog:keep observations resm0003 -->",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if generated, edited := Edited(doc); !generated || edited {
		t.Errorf("Edited(fresh report) = %v, %v; want true, false", generated, edited)
	}
}

// edit replaces the text of keep block name in doc.
func edit(t *testing.T, doc []byte, name, text string) []byte {
	t.Helper()
	start := keepPrefix + name + keepSuffix + "\n"
	i := strings.Index(string(doc), start)
	if i < 0 {
		t.Fatalf("no block %q", name)
	}
	j := strings.Index(string(doc[i:]), keepEnd)
	return []byte(string(doc[:i+len(start)]) + text + "\n" + string(doc[i+j:]))
}

func TestReportKeepsEdits(t *testing.T) {
	st, runs := openRuns(t)
	doc := report(t, st, runs, nil, "base0001", "fast0002", "resm0003")
	edits := map[string]string{
		"intro":                 "We sweep the learning rate of a 2-layer LM.\n\n| a | table |\n|---|---|\n| kept | too |",
		"findings":              "- 3e-2 is fastest to val_loss 2.\n- <b>HTML</b> and `code` survive.",
		"observations base0001": "Smooth curve; the spike at step 10 is a lucky batch.",
		"observations fast0002": "Forked from the baseline with a wider model.",
	}
	for name, text := range edits {
		doc = edit(t, doc, name, text)
	}
	if _, edited := Edited(doc); edited {
		t.Error("editing keep blocks counts as editing the file")
	}

	again := report(t, st, runs, doc, "base0001", "fast0002", "resm0003")
	if string(again) != string(doc) {
		t.Errorf("regenerating an edited log changed it:\n%s", again)
	}

	// fast0002 is left out: its observations move to Orphaned notes, and
	// come back when it returns.
	without := report(t, st, runs, again, "base0001", "resm0003")
	orphans := string(without[strings.Index(string(without), "## Orphaned notes"):])
	if !strings.Contains(orphans, "Forked from the baseline with a wider model.") {
		t.Errorf("the observations of a run no longer in the log were lost:\n%s", without)
	}
	if strings.Contains(orphans, "observations resm0003") || strings.Contains(orphans, "observations base0001") {
		t.Errorf("blocks in their place listed as orphans:\n%s", orphans)
	}
	for name, text := range edits {
		if !strings.Contains(string(without), text) {
			t.Errorf("block %q lost", name)
		}
	}
	back := report(t, st, runs, without, "base0001", "fast0002", "resm0003")
	if string(back) != string(doc) {
		t.Errorf("the run's block did not return to its place:\n%s", back)
	}

	// A run that is gone with its block untouched leaves nothing behind.
	fresh := report(t, st, runs, nil, "base0001", "fast0002")
	if out := report(t, st, runs, fresh, "base0001"); strings.Contains(string(out), "Orphaned") {
		t.Errorf("an untouched block was kept as an orphan:\n%s", out)
	}
}

func TestEdited(t *testing.T) {
	st, runs := openRuns(t)
	doc := string(report(t, st, runs, nil, "base0001"))
	tests := []struct {
		name            string
		doc             string
		generated, edit bool
	}{
		{"as written", doc, true, false},
		{"block edited", string(edit(t, []byte(doc), "findings", "new finding")), true, false},
		{"outside edited", strings.Replace(doc, "## Summary", "## Summary of it all", 1), true, true},
		{"signature gone", doc[:strings.LastIndex(doc, signaturePrefix)], false, false},
		{"hand-written", "# My log\n\nSome text.\n", false, false},
	}
	for _, tt := range tests {
		g, e := Edited([]byte(tt.doc))
		if g != tt.generated || e != tt.edit {
			t.Errorf("%s: Edited = %v, %v; want %v, %v", tt.name, g, e, tt.generated, tt.edit)
		}
	}
}

func TestParseBlocks(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []block
		err  string
	}{
		{"none", "# title\ntext\n", nil, ""},
		{"two", "a\n<!-- runlog:keep intro -->\nx\n\ny\n<!-- /runlog:keep -->\n  <!-- runlog:keep observations ab12 -->  \n<!-- /runlog:keep -->\n",
			[]block{{"intro", "x\n\ny", 2}, {"observations ab12", "", 7}}, ""},
		{"unclosed", "<!-- runlog:keep intro -->\ntext\n", nil, "line 1: block \"intro\" is not closed"},
		{"nested", "<!-- runlog:keep a -->\n<!-- runlog:keep b -->\n", nil, "line 2: block \"b\" starts inside block \"a\""},
		{"stray end", "text\n<!-- /runlog:keep -->\n", nil, "line 2: <!-- /runlog:keep --> closes no block"},
		{"twice", "<!-- runlog:keep a -->\n<!-- /runlog:keep -->\n<!-- runlog:keep a -->\n<!-- /runlog:keep -->\n", nil, "a second block \"a\""},
		{"bad name", "<!-- runlog:keep a|b -->\n<!-- /runlog:keep -->\n", nil, "is not a block name"},
	}
	for _, tt := range tests {
		got, err := parseBlocks(tt.doc)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %v; want error %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("%s: %v, %v; want %v", tt.name, got, err, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: block %d = %+v, want %+v", tt.name, i, got[i], tt.want[i])
			}
		}
	}
	// A broken existing file stops a regeneration rather than lose text.
	st, runs := openRuns(t)
	_, err := Report(context.Background(), st, []store.Run{runs["base0001"]}, []byte("<!-- runlog:keep intro -->\nmine\n"), ReportOptions{})
	if err == nil || !strings.Contains(err.Error(), "not closed") {
		t.Errorf("report over a file with an unclosed block: %v", err)
	}
}
