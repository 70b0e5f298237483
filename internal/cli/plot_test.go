package cli

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pngSize decodes the PNG at path and returns its size.
func pngSize(t *testing.T, path string) (w, h int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg.Width, cfg.Height
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

func TestPlot(t *testing.T) {
	home := fixtureHome(t)
	out := t.TempDir()
	runDir := filepath.Join(home, "runs", "k3v9x2ab")
	tests := []struct {
		name  string
		args  []string
		files []string // printed, in order
		sizes [][2]int // of the PNGs among them
	}{
		{"one run: its folder", []string{"k3v9"},
			[]string{filepath.Join(runDir, "loss_curves.png"), filepath.Join(runDir, "lr_schedule.png")},
			[][2]int{{1600, 600}, {1000, 500}}},
		{"two runs into a folder", []string{"k3v9", "resumed", "-o", out + "/", "--width", "500", "--height", "300"},
			[]string{filepath.Join(out, "loss_curves.png"), filepath.Join(out, "lr_schedule.png")},
			[][2]int{{500, 300}, {500, 300}}},
		{"a file, one axis", []string{"k3v9", "resumed", "--x", "active", "--log-y", "--smooth", "0.5", "--width", "900", "--height", "500", "-o", filepath.Join(out, "sub", "loss.png")},
			[]string{filepath.Join(out, "sub", "loss.png")}, [][2]int{{900, 500}}},
		{"svg", []string{"resumed", "-o", filepath.Join(out, "loss.svg")}, []string{filepath.Join(out, "loss.svg")}, nil},
		{"pdf into a folder", []string{"resumed", "k3v9", "--format", "pdf", "-o", out},
			[]string{filepath.Join(out, "loss_curves.pdf"), filepath.Join(out, "lr_schedule.pdf")}, nil},
		{"keys", []string{"k3v9", "--keys", "tokens_per_sec,val/perplexity (ünïcode)", "-o", out + "/", "--height", "300"},
			[]string{filepath.Join(out, "tokens_per_sec+val_perplexity (ünïcode).png")}, [][2]int{{1600, 300}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lines(mustRun(t, home, append([]string{"plot"}, tt.args...)...))
			if !slices.Equal(got, tt.files) {
				t.Fatalf("printed %q, want %q", got, tt.files)
			}
			i := 0
			for _, f := range got {
				if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
					t.Errorf("%s: %v", f, err)
				}
				if strings.HasSuffix(f, ".png") {
					if w, h := pngSize(t, f); [2]int{w, h} != tt.sizes[i] {
						t.Errorf("%s is %d×%d, want %v", f, w, h, tt.sizes[i])
					}
					i++
				}
			}
		})
	}
}

func TestPlotSeveralRunsIntoWorkingFolder(t *testing.T) {
	home := fixtureHome(t)
	wd := t.TempDir()
	t.Chdir(wd)
	got := lines(mustRun(t, home, "plot", "k3v9", "resumed", "--width", "400", "--height", "300"))
	want := []string{"loss_curves.png", "lr_schedule.png"}
	if !slices.Equal(got, want) {
		t.Fatalf("printed %q, want %q", got, want)
	}
	for _, f := range want {
		if _, err := os.Stat(filepath.Join(wd, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestPlotErrors(t *testing.T) {
	home := fixtureHome(t)
	out := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"plot"}, "requires at least 1 arg"},
		{[]string{"plot", "nothing"}, "runlog ls"},
		{[]string{"plot", "k3v9", "--x", "epoch"}, "use step, wallclock, active, time or both"},
		{[]string{"plot", "k3v9", "--smooth", "1"}, "--smooth"},
		{[]string{"plot", "k3v9", "-o", filepath.Join(out, "loss.gif")}, "name a .png, .svg or .pdf file"},
		{[]string{"plot", "k3v9", "--format", "jpeg", "-o", out}, "unknown chart format"},
		{[]string{"plot", "k3v9", "--keys", "nope", "-o", out}, "nothing to chart"},
	} {
		_, _, err := run(t, home, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error saying %q", tt.args, err, tt.want)
		}
	}
}

func TestShowCharts(t *testing.T) {
	home := fixtureHome(t)
	// Not a terminal: a table of values.
	out := mustRun(t, home, "show", "resumed")
	for _, want := range []string{"loss at 6 steps", "wallclock (min)", "60.2", "train_loss", "2.75"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "⣀") {
		t.Errorf("show draws braille when not on a terminal:\n%s", out)
	}
	out = mustRun(t, home, "show", "k3v9", "--chart", "braille")
	for _, want := range []string{"loss by gradient step", "loss by wallclock time", "gradient step", "wallclock time (s)", "train_loss (✗ NaN at step 2)", "● val_loss"} {
		if !strings.Contains(out, want) {
			t.Errorf("show --chart braille lacks %q:\n%s", want, out)
		}
	}
	if out := mustRun(t, home, "show", "k3v9", "--chart", "none"); strings.Contains(out, "loss by") || strings.Contains(out, "loss at") {
		t.Errorf("show --chart none shows charts:\n%s", out)
	}
	if _, _, err := run(t, home, "show", "k3v9", "--chart", "sixel"); err == nil {
		t.Error("show --chart sixel: no error")
	}
}

func TestExportWritesPlots(t *testing.T) {
	home := fixtureHome(t)
	dir := t.TempDir()
	out := mustRun(t, home, "export", "k3v9x2ab", "-o", dir)
	for _, f := range []string{"loss_curves.png", "lr_schedule.png"} {
		if !strings.Contains(out, filepath.Join(dir, f)) {
			t.Errorf("export did not report writing %s:\n%s", f, out)
		}
		if w, _ := pngSize(t, filepath.Join(dir, f)); w == 0 {
			t.Errorf("%s is empty", f)
		}
	}
	dir = t.TempDir()
	if out := mustRun(t, home, "export", "k3v9x2ab", "-o", dir, "--plots=false"); strings.Contains(out, ".png") {
		t.Errorf("export --plots=false wrote plots:\n%s", out)
	}
}

func TestPlotGroupBy(t *testing.T) {
	home, ids := groupHome(t)
	out := t.TempDir()
	tests := []struct {
		name  string
		args  []string
		files []string
		sizes [][2]int
	}{
		{"bands and the metric against lr", []string{"--group-by", "lr", "-o", out + "/"},
			[]string{filepath.Join(out, "loss_curves.png"), filepath.Join(out, "val_loss_vs_lr.png")}, [][2]int{{1600, 600}, {1000, 500}}},
		{"min-max, best, by step", []string{"--group-by", "lr", "--band", "minmax", "--value", "best", "--x", "step", "-o", filepath.Join(out, "b") + "/"},
			[]string{filepath.Join(out, "b", "loss_curves.png"), filepath.Join(out, "b", "val_loss_vs_lr.png")}, [][2]int{{1000, 600}, {1000, 500}}},
		{"by group: no value to plot against", []string{"--group-by", "group", "-o", filepath.Join(out, "g") + "/"},
			[]string{filepath.Join(out, "g", "loss_curves.png")}, [][2]int{{1600, 600}}},
		{"a file", []string{"--group-by", "lr", "-o", filepath.Join(out, "bands.svg")},
			[]string{filepath.Join(out, "bands.svg")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lines(mustRun(t, home, append(append([]string{"plot"}, ids...), tt.args...)...))
			if !slices.Equal(got, tt.files) {
				t.Fatalf("printed %q, want %q", got, tt.files)
			}
			for i, size := range tt.sizes {
				if w, h := pngSize(t, got[i]); w != size[0] || h != size[1] {
					t.Errorf("%s: %dx%d, want %v", got[i], w, h, size)
				}
			}
		})
	}
}
