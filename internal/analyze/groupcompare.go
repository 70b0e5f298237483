package analyze

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// GroupComparison is a comparison of groups of runs: per group the mean
// and spread of every run's final and best values and of the time each
// took to reach the targets.
type GroupComparison struct {
	By      []string // the group-by keys
	Columns []string // config keys constant within every group, the group-by keys first
	Within  []string // config keys that vary inside some group (seeds)
	Keys    []string
	Targets []Target
	MinMax  bool // spreads are min–max rather than ±1 std
	Groups  []GroupResult
	// Best is the index in Groups of the best group, -1 if none is
	// better; SortedBy says by what.
	Best     int
	SortedBy string
	Runs     int
	runIDs   []string
}

// GroupResult is what a GroupComparison found about one group.
type GroupResult struct {
	Group
	Label   string
	Columns []string // values by GroupComparison.Columns, for people
	Status  map[string]int
	// Final and Best summarize the members' final and best values by key;
	// members whose key diverged (NaN or infinite) are counted in NaN and
	// left out of the mean.
	Final, Best []series.Summary
	Reaches     []GroupReach // by target
}

// GroupReach is how a group's members reached a target.
type GroupReach struct {
	Logged, Reached int
	Steps           series.Summary
	Wallclock       series.Summary
}

// GroupBy aggregates the comparison c of runs by groups (GroupRuns with
// keys): one result per group, sorted by the first target's mean
// wallclock time to reach it (groups that reached it in every member
// first), else by the mean final value of the last key shown (the
// validation loss) in its goal's direction.
func (c *Comparison) GroupBy(keys []string, minmax bool) (*GroupComparison, error) {
	runs := make([]store.Run, len(c.Runs))
	ids := make([]string, len(c.Runs))
	for i := range c.Runs {
		runs[i], ids[i] = c.Runs[i].Run, c.Runs[i].Run.ID
	}
	groups, err := GroupRuns(runs, keys)
	if err != nil {
		return nil, err
	}
	cols, within, err := VariedKeys(runs, groups)
	if err != nil {
		return nil, err
	}
	var columns []string
	for _, k := range keys {
		columns = append(columns, k)
	}
	for _, k := range cols {
		if !slices.Contains(columns, k) && !slices.Contains(columns, "config."+k) {
			columns = append(columns, k)
		}
	}
	gc := &GroupComparison{By: keys, Columns: columns, Within: within, Keys: c.Keys, Targets: c.Targets, MinMax: minmax, Best: -1, Runs: len(c.Runs), runIDs: ids}
	for _, g := range groups {
		gr := GroupResult{Group: g, Label: g.Label(keys), Status: map[string]int{}}
		first := &runs[g.Members[0]]
		flat, _ := Flatten(first.Config)
		for _, k := range columns {
			gr.Columns = append(gr.Columns, showValue(valueOf(first, flat, k)))
		}
		for k := range c.Keys {
			var finals, bests []float64
			for _, m := range g.Members {
				met := c.Runs[m].Metrics[k]
				switch {
				case !met.Logged:
					continue
				case met.Diverged:
					finals, bests = append(finals, math.NaN()), append(bests, math.NaN())
				default:
					finals = append(finals, met.Final)
					if met.BestStep >= 0 {
						bests = append(bests, met.Best)
					}
				}
			}
			gr.Final, gr.Best = append(gr.Final, series.Summarize(finals)), append(gr.Best, series.Summarize(bests))
		}
		for t := range c.Targets {
			var gre GroupReach
			var steps, wall []float64
			for _, m := range g.Members {
				r := c.Runs[m].Reaches[t]
				if r.Logged {
					gre.Logged++
				}
				if r.Reached {
					gre.Reached++
					steps, wall = append(steps, float64(r.Step)), append(wall, r.Wallclock)
				}
			}
			gre.Steps, gre.Wallclock = series.Summarize(steps), series.Summarize(wall)
			gr.Reaches = append(gr.Reaches, gre)
		}
		for _, m := range g.Members {
			gr.Status[c.Runs[m].Status]++
		}
		gc.Groups = append(gc.Groups, gr)
	}
	gc.sort()
	return gc, nil
}

// diverged reports whether a metric of a member of g became NaN or
// infinite.
func (g *GroupResult) diverged() bool {
	return slices.ContainsFunc(g.Final, func(s series.Summary) bool { return s.NaN > 0 })
}

// sort orders the groups best first and marks the best: groups in which a
// run diverged go after those in which none did.
func (gc *GroupComparison) sort() {
	type rank struct {
		ok    bool
		score float64
	}
	score := func(g *GroupResult) rank {
		if len(gc.Targets) > 0 {
			r := g.Reaches[0]
			return rank{r.Reached > 0 && r.Reached == len(g.Members) && !g.diverged(), r.Wallclock.Mean}
		}
		if len(gc.Keys) == 0 {
			return rank{}
		}
		k := len(gc.Keys) - 1
		s := g.Final[k].Mean
		if Goal(gc.Keys[k], "") == runfmt.GoalMaximize {
			s = -s
		}
		return rank{!math.IsNaN(s) && !g.diverged(), s}
	}
	switch {
	case len(gc.Targets) > 0:
		gc.SortedBy = "mean wallclock time to " + gc.Targets[0].String()
	case len(gc.Keys) > 0:
		dir := "lowest"
		if Goal(gc.Keys[len(gc.Keys)-1], "") == runfmt.GoalMaximize {
			dir = "highest"
		}
		gc.SortedBy = dir + " mean final " + gc.Keys[len(gc.Keys)-1]
	}
	sort.SliceStable(gc.Groups, func(i, j int) bool {
		a, b := score(&gc.Groups[i]), score(&gc.Groups[j])
		if a.ok != b.ok {
			return a.ok
		}
		if a.ok {
			return a.score < b.score
		}
		if da, db := gc.Groups[i].diverged(), gc.Groups[j].diverged(); da != db {
			return db
		}
		return false
	})
	if len(gc.Groups) > 1 && score(&gc.Groups[0]).ok {
		gc.Best = 0
	}
}

// spread formats a summary as "mean ± std" or "mean (min–max)", and the
// members left out; a spread of metric values gets two significant
// digits.
func (gc *GroupComparison) spread(s series.Summary, format func(float64) string) string {
	if s.N == 0 {
		if s.NaN > 0 {
			return fmt.Sprintf("all %d NaN", s.NaN)
		}
		return "-"
	}
	out := format(s.Mean)
	if s.N > 1 {
		if gc.MinMax {
			out += " (" + format(s.Min) + "–" + format(s.Max) + ")"
		} else if format != nil && reflectNum(format) {
			out += " ± " + strconv.FormatFloat(s.Std, 'g', 2, 64)
		} else {
			out += " ± " + format(s.Std)
		}
	}
	if s.NaN > 0 {
		out += fmt.Sprintf(" [%d NaN]", s.NaN)
	}
	return out
}

// reflectNum reports whether format shows metric values (num), whose
// spreads are shortened.
func reflectNum(format func(float64) string) bool { return format(0.123456789) == num(0.123456789) }

// statusCell shows the counts of a group's statuses: "3 finished",
// "2 finished, 1 failed".
func statusCell(st map[string]int) string {
	keys := make([]string, 0, len(st))
	for k := range st {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if st[keys[i]] != st[keys[j]] {
			return st[keys[i]] > st[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", st[k], k)
	}
	return strings.Join(parts, ", ")
}

// table lays the groups out: a header and a row of cells per group.
func (gc *GroupComparison) table() (head []string, rows [][]string) {
	head = append(head, "")
	head = append(head, gc.Columns...)
	head = append(head, "n", "status")
	for k, key := range gc.Keys {
		head = append(head, key+" final")
		if gc.showBest(k) {
			head = append(head, key+" best")
		}
	}
	for _, t := range gc.Targets {
		head = append(head, "time to "+t.String())
	}
	for i := range gc.Groups {
		g := &gc.Groups[i]
		mark := ""
		if i == gc.Best {
			mark = "★"
		}
		row := []string{mark}
		for _, v := range g.Columns {
			row = append(row, clip(v, 24))
		}
		n := strconv.Itoa(len(g.Members))
		diverged := 0
		for k := range gc.Keys {
			diverged = max(diverged, g.Final[k].NaN)
		}
		if diverged > 0 {
			n += fmt.Sprintf(" (%d NaN)", diverged)
		}
		row = append(row, n, statusCell(g.Status))
		for k := range gc.Keys {
			row = append(row, gc.spread(g.Final[k], num))
			if gc.showBest(k) {
				row = append(row, gc.spread(g.Best[k], num))
			}
		}
		for t := range gc.Targets {
			row = append(row, gc.reachCell(g.Reaches[t], len(g.Members)))
		}
		rows = append(rows, row)
	}
	return head, rows
}

// showBest reports whether the table has a column of the best values of
// key k: for validation metrics (a train loss's best is one lucky
// minibatch) or a key shown alone.
func (gc *GroupComparison) showBest(k int) bool {
	return len(gc.Keys) == 1 || series.IsValidationKey(gc.Keys[k])
}

// reachCell shows how a group reached a target: "3/3 · step 400 ± 12 ·
// 18.9s ± 1.1s".
func (gc *GroupComparison) reachCell(r GroupReach, n int) string {
	switch {
	case r.Logged == 0:
		return "not logged"
	case r.Reached == 0:
		return fmt.Sprintf("0/%d reached", n)
	}
	step := func(v float64) string { return strconv.FormatFloat(math.Round(v), 'f', -1, 64) }
	return fmt.Sprintf("%d/%d · step %s · %s", r.Reached, n, gc.spread(r.Steps, step), gc.spread(r.Wallclock, duration))
}

// notes explains the group table.
func (gc *GroupComparison) notes() []string {
	spread := "mean ± sample standard deviation over the group's runs"
	if gc.MinMax {
		spread = "mean (minimum–maximum) over the group's runs"
	}
	notes := []string{fmt.Sprintf("%d runs in %d groups by %s; %s. A run whose metric became NaN or infinite is counted in [NaN], not in the mean.",
		gc.Runs, len(gc.Groups), strings.Join(gc.By, ", "), spread)}
	if gc.SortedBy != "" {
		s := "Sorted by " + gc.SortedBy + ", groups in which a run diverged last"
		if gc.Best >= 0 {
			s += "; ★ the best group"
		}
		notes = append(notes, s+".")
	}
	if len(gc.Targets) > 0 {
		notes = append(notes, "Time to target: reached/runs, then the mean step and wallclock time of the runs that reached it.")
	}
	if len(gc.Within) > 0 {
		notes = append(notes, "Varies within groups: "+strings.Join(gc.Within, ", ")+".")
	}
	return notes
}

// Text writes the group table for a terminal width columns wide.
func (gc *GroupComparison) Text(w io.Writer, width int) error {
	head, rows := gc.table()
	colW := make([]int, len(head))
	for i, h := range head {
		colW[i] = utf8.RuneCountInString(h)
		for _, r := range rows {
			colW[i] = max(colW[i], utf8.RuneCountInString(r[i]))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		var l strings.Builder
		for i, c := range cells {
			if i > 0 {
				l.WriteString("  ")
			}
			if i == len(cells)-1 {
				l.WriteString(c)
			} else {
				l.WriteString(pad(c, colW[i]))
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	line(head)
	for _, r := range rows {
		line(r)
	}
	b.WriteByte('\n')
	for _, n := range gc.notes() {
		b.WriteString(wrap(n, width))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown writes the group table as GitHub-flavoured Markdown.
func (gc *GroupComparison) Markdown(w io.Writer) error {
	var b strings.Builder
	gc.markdownTable(&b)
	b.WriteByte('\n')
	for _, n := range gc.notes() {
		b.WriteString("- " + mdText(n) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// markdownTable writes the table alone.
func (gc *GroupComparison) markdownTable(b *strings.Builder) {
	head, rows := gc.table()
	b.WriteString("|")
	for _, h := range head {
		b.WriteString(" " + mdCell(h) + " |")
	}
	b.WriteString("\n|")
	for i := range head {
		if i > 0 && i <= len(gc.Columns)+1 {
			b.WriteString("--:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteByte('\n')
	for _, r := range rows {
		b.WriteString("|")
		for _, c := range r {
			b.WriteString(" " + mdCell(c) + " |")
		}
		b.WriteByte('\n')
	}
}

type jsonSummary struct {
	N    int           `json:"n"`
	NaN  int           `json:"nan"`
	Mean *runfmt.Float `json:"mean"`
	Std  *runfmt.Float `json:"std"`
	Min  *runfmt.Float `json:"min"`
	Max  *runfmt.Float `json:"max"`
}

func summaryJSON(s series.Summary) jsonSummary {
	return jsonSummary{N: s.N, NaN: s.NaN, Mean: fp(s.Mean), Std: fp(s.Std), Min: fp(s.Min), Max: fp(s.Max)}
}

// JSON writes the groups as JSON.
func (gc *GroupComparison) JSON(w io.Writer) error {
	type jsonReachG struct {
		Target    string      `json:"target"`
		Logged    int         `json:"logged"`
		Reached   int         `json:"reached"`
		Steps     jsonSummary `json:"steps"`
		Wallclock jsonSummary `json:"wallclock_s"`
	}
	type jsonMetricG struct {
		Final jsonSummary `json:"final"`
		Best  jsonSummary `json:"best"`
	}
	type jsonGroup struct {
		Label   string                 `json:"label"`
		Values  map[string]any         `json:"values"`
		Best    bool                   `json:"best"`
		Runs    []string               `json:"runs"`
		Status  map[string]int         `json:"status"`
		Metrics map[string]jsonMetricG `json:"metrics"`
		Targets []jsonReachG           `json:"targets"`
	}
	out := struct {
		GroupBy  []string    `json:"group_by"`
		Columns  []string    `json:"columns"`
		Within   []string    `json:"varies_within_groups"`
		SortedBy string      `json:"sorted_by"`
		Spread   string      `json:"spread"`
		Groups   []jsonGroup `json:"groups"`
	}{GroupBy: gc.By, Columns: gc.Columns, Within: nonNil(gc.Within), SortedBy: gc.SortedBy, Spread: "std"}
	if gc.MinMax {
		out.Spread = "minmax"
	}
	for i, g := range gc.Groups {
		jg := jsonGroup{Label: g.Label, Values: map[string]any{}, Best: i == gc.Best, Status: g.Status,
			Metrics: map[string]jsonMetricG{}, Targets: []jsonReachG{}}
		for k, key := range gc.By {
			var v any
			if g.Values[k] != "" {
				json.Unmarshal([]byte(g.Values[k]), &v)
			}
			jg.Values[key] = v
		}
		for _, m := range g.Members {
			jg.Runs = append(jg.Runs, gc.runIDs[m])
		}
		for k, key := range gc.Keys {
			jg.Metrics[key] = jsonMetricG{Final: summaryJSON(g.Final[k]), Best: summaryJSON(g.Best[k])}
		}
		for t, tg := range gc.Targets {
			r := g.Reaches[t]
			jg.Targets = append(jg.Targets, jsonReachG{Target: tg.String(), Logged: r.Logged, Reached: r.Reached,
				Steps: summaryJSON(r.Steps), Wallclock: summaryJSON(r.Wallclock)})
		}
		out.Groups = append(out.Groups, jg)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
