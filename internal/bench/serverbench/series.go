package serverbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench/timing"
)

// benchSeries measures the series endpoint on a run with one series of
// c.Points points.
func benchSeries(ctx context.Context, c Config, home string, add func(row)) error {
	fmt.Fprintf(c.Log, "writing a run of %d points…\n", c.Points)
	r, err := runlog.Init(runlog.Options{Home: home, Name: "series-bench", DisableGit: true, URL: "-"})
	if err != nil {
		return err
	}
	for step := range c.Points {
		loss := 4*math.Exp(-float64(step)/float64(c.Points)*3) + 0.05*math.Sin(float64(step)/7)
		if step%100_003 == 50_000 {
			loss = 20 // spikes
		}
		if err := r.LogStep(int64(step), map[string]float64{"train_loss": loss}); err != nil {
			return err
		}
	}
	if err := r.Finish(0); err != nil {
		return err
	}
	base, stop, err := c.serve(home) // indexes the run
	if err != nil {
		return err
	}
	defer stop()
	client := &http.Client{}
	url := fmt.Sprintf("%s/api/v1/runs/%s/series?keys=train_loss&points=%d", base, r.ID(), c.Width)
	get := func(u string) (int, error) {
		resp, err := client.Get(u)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var ans struct {
			Series []struct {
				X []float64 `json:"x"`
			} `json:"series"`
		}
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			return 0, fmt.Errorf("%s: %s", resp.Status, b)
		}
		if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
			return 0, err
		}
		return len(ans.Series[0].X), nil
	}
	// first times the first request of a new server, whose caches are
	// empty, for the series on axis x.
	first := func(x string) (time.Duration, int, error) {
		var got int
		var firsts []time.Duration
		for range max(1, c.Repeat) {
			b, stop, err := c.serve(home)
			if err != nil {
				return 0, 0, err
			}
			t := time.Now()
			got, err = get(fmt.Sprintf("%s/api/v1/runs/%s/series?keys=train_loss&points=%d&x=%s", b, r.ID(), c.Width, x))
			firsts = append(firsts, time.Since(t))
			stop()
			if err != nil {
				return 0, 0, err
			}
		}
		return timing.Median(firsts), got, nil
	}
	// By step the store's overview answers; on the wallclock axis every
	// point is decoded, as every axis was before overviews: the reference.
	byStep, got, err := first("step")
	if err != nil {
		return err
	}
	decoded, _, err := first("wallclock")
	if err != nil {
		return err
	}
	pts := fmt.Sprintf("%s points", timing.Count(c.Points))
	each := "median of " + fmt.Sprint(c.Repeat) + ", new server each"
	// The server draws from the overviews a series of at least 64 points
	// for each point asked (internal/server/series.go, longSeries).
	how := "from the stored overviews"
	if c.Points < 64*c.Width {
		how = "decoded: too short for the overviews"
	}
	add(row{fmt.Sprintf("series endpoint, %s → %d (%d returned), first request, by step (%s)", pts, c.Width, got, how),
		timing.Millis(byStep), "≤ 10 ms", fmt.Sprintf("%s; decoding takes %.1f× as long", each, decoded.Seconds()/byStep.Seconds())})
	add(row{"the same, wallclock axis (decodes every point: the reference)", timing.Millis(decoded), "", each})
	if _, err := get(url); err != nil {
		return err
	}
	for _, v := range []struct{ what, url string }{
		{fmt.Sprintf("**series endpoint, %s → %d, by step**", pts, c.Width), url},
		{"the same, zoomed to a tenth of the steps", url + fmt.Sprintf("&from=%d&to=%d", c.Points/2, c.Points/2+c.Points/10)},
		{"the same, wallclock axis", url + "&x=wallclock"},
		{"the same, active-time axis", url + "&x=active"},
	} {
		get(v.url) // the axis is computed once
		d, err := timing.Time(max(c.Repeat, 20), func() error { _, err := get(v.url); return err })
		if err != nil {
			return err
		}
		goal, note := "", "cached decoded series"
		if v.url == url {
			goal, note = "≤ 2 ms", "the answer kept"
		}
		add(row{v.what, timing.Millis(d), goal, "median of " + fmt.Sprint(max(c.Repeat, 20)) + ", " + note})
	}
	return nil
}
