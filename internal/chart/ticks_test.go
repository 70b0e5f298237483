package chart

import (
	"math"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"
)

func TestNiceStep(t *testing.T) {
	for _, tt := range []struct{ raw, want float64 }{
		{0.7, 1}, {1, 1}, {1.1, 2}, {2.2, 2.5}, {3, 5}, {6, 10}, {0.013, 0.02}, {1234, 2000}, {0, 1}, {math.Inf(1), 1},
	} {
		if got := niceStep(tt.raw); math.Abs(got-tt.want) > 1e-12*tt.want {
			t.Errorf("niceStep(%v) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestFormatTick(t *testing.T) {
	for _, tt := range []struct {
		v, step float64
		want    string
	}{
		{0, 0.5, "0"}, {0.5, 0.5, "0.5"}, {2.25, 0.25, "2.25"}, {3, 1, "3"}, {800, 200, "800"},
		{200000, 100000, "200k"}, {1.5e6, 5e5, "1.5M"}, {2e9, 1e9, "2G"}, {5000, 1000, "5000"},
		{0.01, 0.002, "0.010"}, {5e-4, 1e-4, "5e-4"}, {1.5e-4, 5e-5, "1.5e-4"}, {-1.5, 0.5, "-1.5"},
	} {
		if got := formatTick(tt.v, tt.step); got != tt.want {
			t.Errorf("formatTick(%v, %v) = %q, want %q", tt.v, tt.step, got, tt.want)
		}
	}
}

func TestTimeUnit(t *testing.T) {
	for _, tt := range []struct {
		span float64
		div  float64
		unit string
	}{{20, 1, "s"}, {119, 1, "s"}, {600, 60, "min"}, {3 * 3600, 3600, "h"}, {5 * 86400, 86400, "days"}} {
		if div, unit := timeUnit(tt.span); div != tt.div || unit != tt.unit {
			t.Errorf("timeUnit(%v) = %v %s, want %v %s", tt.span, div, unit, tt.div, tt.unit)
		}
	}
}

// TestTicksDoNotOverlap checks the labels of axes of every kind and
// length against each other, measured in the font they are drawn in.
func TestTicksDoNotOverlap(t *testing.T) {
	sty := textStyle(sansFont, tickSize)
	utc := time.UTC
	for _, tt := range []struct {
		name     string
		lo, hi   float64
		length   vg.Length
		vertical bool
		log      bool
		date     *time.Location
		min      int // labels at least
	}{
		{"steps", 0, 800, 300, false, false, nil, 4},
		{"steps narrow", 0, 800, 80, false, false, nil, 2},
		{"million steps", 0, 1e6, 300, false, false, nil, 4},
		{"odd range", 13.7, 9876.5, 250, false, false, nil, 3},
		{"hours", 0, 13.9, 320, false, false, nil, 4},
		{"loss", 0.52, 3.9, 200, true, false, nil, 4},
		{"lr", 1e-5, 3e-4, 200, true, false, nil, 3},
		{"log decades", 0.01, 1000, 200, true, true, nil, 4},
		{"log narrow", 1.5, 4, 200, true, true, nil, 3},
		{"dates", 1764201600, 1764201600 + 6*3600, 320, false, false, utc, 3},
		{"days", 1764201600, 1764201600 + 9*86400, 320, false, false, utc, 3},
	} {
		tk := &ticker{length: tt.length, vertical: tt.vertical, style: sty, log: tt.log, date: tt.date}
		ticks := tk.Ticks(tt.lo, tt.hi)
		var pos []float64
		var labels []string
		for _, x := range ticks {
			if x.Label == "" {
				continue
			}
			if x.Value < tt.lo-1e-9*math.Abs(tt.lo) || x.Value > tt.hi+1e-9*math.Abs(tt.hi) {
				t.Errorf("%s: tick %v outside [%v, %v]", tt.name, x.Value, tt.lo, tt.hi)
			}
			pos = append(pos, tk.position(tt.lo, tt.hi, x.Value))
			labels = append(labels, x.Label)
		}
		if len(labels) < tt.min {
			t.Errorf("%s: %d labels %v, want at least %d", tt.name, len(labels), labels, tt.min)
		}
		for i := 1; i < len(pos); i++ {
			gap := vg.Length(pos[i]-pos[i-1]) * tt.length
			need := sty.Height("0")
			if !tt.vertical {
				need = (sty.Width(labels[i-1]) + sty.Width(labels[i])) / 2
			}
			if gap <= need {
				t.Errorf("%s: labels %q and %q overlap (%.1f pt apart, need %.1f)", tt.name, labels[i-1], labels[i], gap, need)
			}
		}
		t.Logf("%s: %s", tt.name, strings.Join(labels, " "))
	}
}

func TestDateLabels(t *testing.T) {
	tk := &ticker{length: 400, style: textStyle(sansFont, tickSize), date: time.UTC}
	ticks := tk.Ticks(1764201600, 1764201600+4*3600) // 2025-11-27 00:00 UTC, 4 hours
	if len(ticks) == 0 || ticks[0].Label != "00:00" {
		t.Fatalf("ticks %v, want labels as 15:04 from 00:00", ticks)
	}
	ticks = tk.Ticks(1764201600, 1764201600+20*86400)
	if !strings.HasPrefix(ticks[0].Label, "Nov ") {
		t.Errorf("ticks over 20 days %v, want dates", ticks)
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("a-very-long-run-name", 8); got != "a-very-…" {
		t.Errorf("truncate = %q", got)
	}
	if got := truncate("short", 8); got != "short" {
		t.Errorf("truncate = %q", got)
	}
}

func TestLogTicksLabelDecades(t *testing.T) {
	tk := &ticker{length: 230, vertical: true, style: textStyle(sansFont, tickSize), log: true}
	var labels []string
	for _, x := range tk.Ticks(3.3e-5, 4.03) {
		if x.Label != "" {
			labels = append(labels, x.Label)
		}
	}
	if strings.Join(labels, " ") != "0.0001 0.0003 0.001 0.003 0.01 0.03 0.1 0.3 1 3" {
		t.Errorf("labels of 3.3e-5 to 4 on 230 points: %v", labels)
	}
}
