package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/runlog/runlog/internal/chart"
	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

func newWatch(e *env) *cobra.Command {
	var (
		interval time.Duration
		keys     []string
	)
	cmd := &cobra.Command{
		Use:   "watch RUN",
		Short: "Follow a run live: its losses by step and by wallclock time, redrawn as it trains",
		Long: `Follow a run while it trains. On a terminal, watch redraws the run's status
line and braille charts of its train and validation loss, by gradient step
and by wallclock time, every --interval, sized to the terminal (in colour
unless NO_COLOR is set). Elsewhere it prints a line with the latest values
whenever the run has logged a new step.

Each redraw indexes what the run has written since the last one. watch ends
when the run does (finished, failed, killed, or crashed: no heartbeat for
2 minutes), with the final charts left on screen, or on Ctrl-C.`,
		Example: `  runlog watch lr-1e-2
  runlog watch k3v9 --interval 5s
  runlog watch k3v9 --keys train_loss,grad_norm`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return fmt.Errorf("--interval %v: use a positive duration such as 2s", interval)
			}
			ctx := cmd.Context()
			err := func() error {
				st, r, err := e.openRun(ctx, args[0])
				if err != nil {
					return err
				}
				defer st.Close()
				w := &watcher{e: e, st: st, run: r, keys: splitKeys(keys)}
				return w.loop(ctx, interval)
			}()
			if ctx.Err() != nil { // Ctrl-C is how watch is meant to be left
				return nil
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "time between redraws")
	cmd.Flags().StringSliceVar(&keys, "keys", nil, "series to draw, comma-separated (default: train and validation loss)")
	return cmd
}

// watcher redraws one run until it ends.
type watcher struct {
	e        *env
	st       store.Store
	run      store.Run
	keys     []string
	drawn    bool  // a frame is on screen
	lastStep int64 // the step the last line was printed for
	readOnly bool  // the store cannot be written: nothing new is indexed
}

func (w *watcher) loop(ctx context.Context, interval time.Duration) error {
	e := w.e
	if e.tty {
		fmt.Fprint(e.stdout, "\x1b[?25l") // hide the cursor while redrawing
		defer func() {
			fmt.Fprint(e.stdout, "\x1b[?25h")
			flush(e)
		}()
	}
	w.lastStep = -1
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		status := summary.Status(&w.run, e.now())
		if err := w.draw(ctx, status); err != nil {
			return err
		}
		if status != runfmt.StatusRunning {
			fmt.Fprintf(e.stdout, "%s: run %s\n", w.run.ID, w.ended(status))
			flush(e)
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(e.stdout)
			return nil
		case <-tick.C:
		}
		if err := w.refresh(ctx); err != nil {
			return err
		}
	}
}

// ended says how a run ended.
func (w *watcher) ended(status string) string {
	s := status
	if w.run.ExitCode != nil && status != runfmt.StatusCrashed {
		s += fmt.Sprintf(" (exit %d)", *w.run.ExitCode)
	}
	if status == runfmt.StatusCrashed {
		s += fmt.Sprintf(": nothing written since %s", when(w.run.Last))
	}
	return s
}

// refresh indexes what the run wrote since the last time and reads it
// again.
func (w *watcher) refresh(ctx context.Context) error {
	if !w.readOnly {
		var err error
		if w.run.Path != "" {
			_, err = ingest.Run(ctx, w.st, w.run.Path, ingest.Options{Warn: w.e.warn})
		} else {
			_, err = w.e.index(ctx, w.st, ingest.Options{})
		}
		if errors.Is(err, store.ErrReadOnly) {
			w.readOnly = true
			w.e.warn(fmt.Errorf("the store is read-only: new data of the run is not shown"))
		} else if err != nil {
			return err
		}
	}
	r, err := w.st.Run(ctx, w.run.ID)
	if err != nil {
		return err
	}
	w.run = r
	return nil
}

// draw shows the run's state: on a terminal a frame of charts drawn over
// the last one, elsewhere a line when there is a new step.
func (w *watcher) draw(ctx context.Context, status string) error {
	e, r := w.e, w.run
	head := fmt.Sprintf("%s  %s  %s", orDash(r.Name), r.ID, paint(status, status, e.colors()))
	if r.MaxStep >= 0 {
		head += fmt.Sprintf("  step %d", r.MaxStep)
	}
	head += "  wallclock " + duration(r.Wallclock())
	if r.TrainLoss != nil {
		head += "  train " + num(r.TrainLoss.Value)
	}
	if r.ValLoss != nil {
		head += "  val " + num(r.ValLoss.Value)
	}
	if !e.tty {
		if r.MaxStep != w.lastStep || status != runfmt.StatusRunning {
			fmt.Fprintf(e.stdout, "%s  %s\n", e.now().Format("15:04:05"), head)
			w.lastStep = r.MaxStep
		}
		flush(e)
		return nil
	}
	cols, rows := e.width(), 24
	if c, r, err := term.GetSize(int(os.Stdout.Fd())); err == nil && c > 20 && r > 8 {
		cols, rows = c, r // the terminal's size now: it may have been resized
	}
	h := (rows - 3) / 2 // two charts one above the other, with a status line and a legend
	if cols >= 120 {
		h = rows - 3 // side by side
	}
	h = max(4, min(24, h-4)) // each chart's title, x-axis, labels and axis name
	charts, err := chart.Terminal(ctx, w.st, []store.Run{r}, chart.TermOptions{Width: cols, Height: h, Color: e.colors(), Keys: w.keys})
	if errors.Is(err, chart.ErrNoData) {
		charts, err = "(no points yet)\n", nil
	}
	if err != nil {
		return err
	}
	var b strings.Builder
	if w.drawn {
		b.WriteString("\x1b[H") // over the last frame
	} else {
		b.WriteString("\x1b[H\x1b[2J")
	}
	hint := ""
	if status == runfmt.StatusRunning {
		hint = "   (Ctrl-C to stop)"
	}
	for _, line := range strings.Split(strings.TrimSuffix(head+hint+"\n"+charts, "\n"), "\n") {
		b.WriteString(line)
		b.WriteString("\x1b[K\n") // clear what the last frame left on the line
	}
	b.WriteString("\x1b[J") // and below
	fmt.Fprint(e.stdout, b.String())
	flush(e)
	w.drawn = true
	return nil
}

// flush writes out what the buffered stdout holds.
func flush(e *env) {
	if f, ok := e.stdout.(interface{ Flush() error }); ok {
		f.Flush()
	}
}
