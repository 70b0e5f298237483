package manykeysbench

import (
	"context"
	"fmt"
	"time"

	"github.com/runlog/runlog/internal/bench/timing"
)

// gb is the server's memory goal.
const gb = 1 << 30

// ui measures `runlog ui` on the home without the many-keys run,
// browsing an ordinary run, then on the home with it, browsing that run.
func (b *bench) ui(ctx context.Context) error {
	b.progress("runlog ui on the home without the many-keys run…")
	ref, err := b.measure(ctx, b.ordinary, b.ordinaryID)
	if err != nil {
		return fmt.Errorf("the home without the many-keys run: %w", err)
	}
	b.progress("runlog ui on the home with it…")
	got, err := b.measure(ctx, b.many, b.bigID)
	if err != nil {
		return fmt.Errorf("the home with the many-keys run: %w", err)
	}
	rep := fmt.Sprintf("median of %d", b.Repeat)
	b.add(Row{
		What:      "**GET /api/v1/runs (the web UI's first page), home with the many-keys run**",
		Result:    dur(got.list),
		Goal:      "≤ 2×",
		Reference: "without it: " + dur(ref.list),
		Ratio:     goalRatio(got.list.Seconds(), ref.list.Seconds(), 2, "without"),
		Note:      fmt.Sprintf("%s; %s (without: %s)", rep, mb(got.listBytes), mb(ref.listBytes)),
	})
	b.add(Row{
		What:      "GET /api/v1/runs/{id} of the many-keys run, one client",
		Result:    dur(got.detail),
		Reference: "an ordinary run: " + dur(ref.detail),
		Ratio:     ratio(got.detail.Seconds(), ref.detail.Seconds(), "the ordinary run"),
		Note:      fmt.Sprintf("%s; %s (ordinary: %s)", rep, mb(got.detailBytes), mb(ref.detailBytes)),
	})
	for i, p := range b.pages() {
		g, r := summarize(got.browse[i]), summarize(ref.browse[i])
		b.add(Row{
			What:      fmt.Sprintf("%d clients browsing the many-keys run: %s", b.Clients, p.name),
			Result:    g.String(),
			Reference: "an ordinary run: " + r.String(),
			Ratio:     ratio(g.med.Seconds(), r.med.Seconds(), "the ordinary run (medians)"),
			Note:      fmt.Sprintf("%s; ordinary: %s", g.note(), r.note()),
		})
	}
	note := fmt.Sprintf("VmHWM sampled and the rusage at exit; browsing took %s (ordinary: %s)", secs(got.wall), secs(ref.wall))
	if got.killed {
		note = "**the server was killed (out of memory?)**; " + note
	}
	b.add(Row{
		What:      fmt.Sprintf("**`runlog ui` peak RSS, %d clients browsing the many-keys run**", b.Clients),
		Result:    rssString(got.peak),
		Goal:      "< 1 GB",
		Reference: "the same on the home without it: " + rssString(ref.peak),
		Ratio:     goalRatio(float64(got.peak), gb, 1, "the goal"),
		Note:      note,
	})
	return nil
}

// ls times `runlog ls` as a whole process on both homes.
func (b *bench) ls(ctx context.Context) error {
	lsTime := func(home string) (time.Duration, int64, error) {
		var peak int64
		d, err := timing.Repeat(b.Repeat, func() (time.Duration, error) {
			d, rss, err := b.runlog(ctx, "--home", home, "ls")
			peak = max(peak, rss)
			return d, err
		})
		return d, peak, err
	}
	without, rssWithout, err := lsTime(b.ordinary)
	if err != nil {
		return err
	}
	with, rssWith, err := lsTime(b.many)
	if err != nil {
		return err
	}
	b.add(Row{
		What:      "**`runlog ls`, home with the many-keys run (whole process)**",
		Result:    dur(with),
		Goal:      "≤ 2×",
		Reference: "without it: " + dur(without),
		Ratio:     goalRatio(with.Seconds(), without.Seconds(), 2, "without"),
		Note:      fmt.Sprintf("median of %d, after indexing; peak RSS %s (without: %s)", b.Repeat, rssString(rssWith), rssString(rssWithout)),
	})
	return nil
}

// goalRatio says what a is as a multiple of b and whether that is within
// limit times.
func goalRatio(a, b, limit float64, what string) string {
	if a <= 0 || b <= 0 {
		return ""
	}
	met := "met"
	if a/b > limit {
		met = "not met"
	}
	return fmt.Sprintf("%.2f× %s: %s", a/b, what, met)
}

// ratio says what a is as a multiple of b.
func ratio(a, b float64, what string) string {
	if a <= 0 || b <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f× %s", a/b, what)
}
