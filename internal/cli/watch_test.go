package cli

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/term"

	"github.com/runlog/runlog"
)

// liveRun starts a run in home that has logged one step and flushed it.
func liveRun(t *testing.T, home string) *runlog.Run {
	t.Helper()
	r, err := runlog.Init(runlog.Options{Home: home, Name: "live", FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Finish(0) })
	r.LogStep(0, map[string]float64{"train_loss": 4, "val_loss": 4.1})
	waitForData(t, r, 1)
	return r
}

// waitForData waits until the run's log holds more than n bytes past its
// start.
func waitForData(t *testing.T, r *runlog.Run, min int64) {
	t.Helper()
	path := filepath.Join(r.Dir(), "run.log")
	fi, _ := os.Stat(path)
	start := int64(0)
	if fi != nil {
		start = fi.Size()
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && fi.Size() >= start+min {
			return
		}
	}
	t.Fatal("the run's log was not written")
}

// watch runs `runlog watch` in env e until it returns or ctx ends.
func watch(ctx context.Context, e *env, home string, args ...string) chan error {
	root := newRoot(e)
	root.SetArgs(append([]string{"--home", home, "watch"}, args...))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	return done
}

// train logs steps 1 to n and finishes the run.
func train(t *testing.T, r *runlog.Run, n int) {
	t.Helper()
	for s := 1; s <= n; s++ {
		v := map[string]float64{"train_loss": 4 * math.Exp(-float64(s)/10)}
		if s%5 == 0 {
			v["val_loss"] = 4.1 * math.Exp(-float64(s)/10)
		}
		r.LogStep(int64(s), v)
		time.Sleep(3 * time.Millisecond)
	}
	if err := r.Finish(0); err != nil {
		t.Error(err)
	}
}

// shownWriter is an output that watch writes to while the test reads it:
// shown is closed once what it holds contains mark, so that a test trains
// only after watch has drawn the running run, however slow the machine.
type shownWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	mark  string
	shown chan struct{}
}

func newShownWriter(mark string) *shownWriter {
	return &shownWriter{mark: mark, shown: make(chan struct{})}
}

func (w *shownWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if w.mark != "" && strings.Contains(w.buf.String(), w.mark) {
		close(w.shown)
		w.mark = ""
	}
	return n, err
}

func (w *shownWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitShown waits until w has shown its mark.
func waitShown(t *testing.T, w *shownWriter) {
	t.Helper()
	select {
	case <-w.shown:
	case <-time.After(20 * time.Second):
		t.Fatalf("watch did not show the running run:\n%q", w.String())
	}
}

func waitDone(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("watch did not end")
		return nil
	}
}

func TestWatchLines(t *testing.T) {
	home := t.TempDir()
	r := liveRun(t, home)
	out, errb := newShownWriter("running"), &bytes.Buffer{}
	e := &env{stdout: out, stderr: errb, now: time.Now}
	done := watch(context.Background(), e, home, "live", "--interval", "10ms")
	waitShown(t, out)
	train(t, r, 30)
	if err := waitDone(t, done); err != nil {
		t.Fatalf("watch: %v\n%s", err, errb.String())
	}
	got := lines(out.String())
	if len(got) < 3 {
		t.Fatalf("watch printed %d lines, want one per new step and the end:\n%s", len(got), out.String())
	}
	if !strings.Contains(got[0], "live") || !strings.Contains(got[0], "running") {
		t.Errorf("first line %q, want the running run", got[0])
	}
	if last := got[len(got)-1]; !strings.HasSuffix(last, "run finished (exit 0)") {
		t.Errorf("last line %q, want the run's end", last)
	}
	if before := got[len(got)-2]; !strings.Contains(before, "finished") || !strings.Contains(before, "step 30") {
		t.Errorf("line before the end %q, want the last step and status", before)
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Errorf("escape codes when not on a terminal:\n%q", out.String())
	}
}

func TestWatchTerminal(t *testing.T) {
	for _, noColor := range []bool{false, true} {
		home := t.TempDir()
		t.Setenv("NO_COLOR", "1") // restored after the test
		if !noColor {
			os.Unsetenv("NO_COLOR")
		}
		r := liveRun(t, home)
		out, errb := newShownWriter("(Ctrl-C to stop)"), &bytes.Buffer{}
		e := &env{stdout: out, stderr: errb, now: time.Now, tty: true, cols: 100}
		done := watch(context.Background(), e, home, "live", "--interval", "10ms")
		waitShown(t, out)
		train(t, r, 30)
		if err := waitDone(t, done); err != nil {
			t.Fatalf("watch: %v\n%s", err, errb.String())
		}
		s := out.String()
		for _, want := range []string{"\x1b[?25l\x1b[H\x1b[2J", "\x1b[H", "loss by gradient step", "loss by wallclock time", "(Ctrl-C to stop)", "run finished (exit 0)", "\x1b[?25h"} {
			if !strings.Contains(s, want) {
				t.Errorf("NO_COLOR=%v: watch lacks %q", noColor, want)
			}
		}
		if frames := strings.Count(s, "\x1b[H"); frames < 2 {
			t.Errorf("%d frames, want redraws", frames)
		}
		if colored := strings.Contains(s, "\x1b[38;5;"); colored == noColor {
			t.Errorf("NO_COLOR=%v: colours %v", noColor, colored)
		}
		cols := 100 // watch follows the size of a real terminal, if the test runs on one
		if c, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && c > 20 {
			cols = c
		}
		for _, line := range strings.Split(s, "\n") {
			if n := len([]rune(stripANSI(line))); n > cols {
				t.Errorf("a line of %d columns on a terminal of %d: %q", n, cols, line)
				break
			}
		}
	}
}

func TestWatchStopsOnCancel(t *testing.T) {
	home := t.TempDir()
	liveRun(t, home)
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, now: time.Now}
	ctx, cancel := context.WithCancel(context.Background())
	done := watch(ctx, e, home, "live", "--interval", "10ms")
	time.Sleep(50 * time.Millisecond)
	cancel() // Ctrl-C
	if err := waitDone(t, done); err != nil {
		t.Errorf("watch after Ctrl-C: %v; want a clean exit", err)
	}
	if _, _, err := run(t, home, "watch", "live", "--interval", "0s"); err == nil {
		t.Error("--interval 0s: no error")
	}
}

// stripANSI removes colour and cursor escapes.
func stripANSI(s string) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		switch {
		case r == '\x1b':
			esc = true
		case esc:
			if r >= '@' && r <= '~' && r != '[' {
				esc = false
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
