package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// TestRunResumeTinyLM trains the tiny LM under `runlog run`, kills it with
// SIGKILL mid-run, resumes it with `runlog run --resume`, kills the
// resumed program too and resumes it once more: each time it restores the
// checkpoint it is handed and continues at the step after it, the run
// holds exactly one current point per step, every attempt's points are
// kept (those past the next checkpoint superseded), and the time it lay
// dead is not active time.
func TestRunResumeTinyLM(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	bin := filepath.Join(t.TempDir(), "tinylm")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/tinylm").CombinedOutput(); err != nil {
		t.Fatalf("build tinylm: %v\n%s", err, out)
	}
	// Long enough that a fast machine is still training when each kill
	// comes, a second after the checkpoint it waits for.
	const steps = 1000
	cfg := writeJSON(t, map[string]any{
		"seed": 1, "data_seed": 42, "train_chars": 20000, "val_chars": 4000, "context_length": 32,
		"d_model": 32, "n_layers": 2, "n_heads": 2, "d_ff": 64, "init_std": 0.02, "batch_size": 8,
		"max_steps": steps, "lr": 0.01, "min_lr": 0.0001, "warmup_steps": 5, "weight_decay": 0.1,
		"beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "grad_clip": 1.0, "eval_interval": 20, "eval_batches": 2,
		"sample_chars": 0,
	})
	home := t.TempDir()
	resumed := regexp.MustCompile(`resuming run \S+ from \S+ \(step (\d+)\)`)
	// killAfter starts runlog with args and kills the program (not the
	// runner) once it has saved the checkpoint of step ckpt and its client
	// has written the log a second later (its flush interval): the run
	// knows of a checkpoint, and has points after it. It returns what
	// runlog printed.
	killAfter := func(ckpt string, args ...string) string {
		cmd := runlogProcess(home, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		// Training takes a while on a loaded machine: wait up to 3 minutes.
		for try := 0; ; try++ {
			if m, _ := filepath.Glob(filepath.Join(home, "runs", "*", "checkpoints", "step_"+ckpt+".ckpt")); len(m) == 1 {
				break
			}
			if try == 1800 {
				t.Fatalf("no checkpoint of step %s after 3 minutes:\n%s", ckpt, out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		child := childOf(t, cmd.Process.Pid)
		time.Sleep(1100 * time.Millisecond)
		syscall.Kill(child, syscall.SIGKILL)
		cmd.Wait()
		if s := showJSON(t, home, "tiny"); s.Status != "killed" {
			t.Fatalf("after SIGKILL: status %s\n%s", s.Status, out.String())
		}
		time.Sleep(1500 * time.Millisecond) // the run lies dead a while
		return out.String()
	}
	killAfter("000100", "run", "--name", "tiny", "--", bin, "-config", cfg)
	// The first resume, killed in its turn once it has saved a checkpoint
	// 100 steps after the latest of the first attempt's: a resume of a
	// resume follows.
	saved, _ := filepath.Glob(filepath.Join(home, "runs", "*", "checkpoints", "step_*.ckpt"))
	slices.Sort(saved)
	latest, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(saved[len(saved)-1]), "step_"), ".ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	first := killAfter(fmt.Sprintf("%06d", latest+100), "run", "--resume", "tiny", "--", bin, "-config", cfg)
	m := resumed.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("no resume message:\n%s", first)
	}
	ckpts := []int64{0, 0, 0} // the step each attempt started after
	ckpts[1], _ = strconv.ParseInt(m[1], 10, 64)

	out, errOut, err := run(t, home, "run", "--resume", "tiny", "--", bin, "-config", cfg)
	if err != nil {
		t.Fatalf("resume: %v\n%s%s", err, out, errOut)
	}
	m = resumed.FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no resume message:\n%s", errOut)
	}
	ckpts[2], _ = strconv.ParseInt(m[1], 10, 64)
	if ckpts[2] <= ckpts[1] {
		t.Errorf("the second resume restored step %d, not a later checkpoint than the first's %d", ckpts[2], ckpts[1])
	}
	if !strings.Contains(out, "from step "+m[1]) || strings.Contains(errOut, "started again") {
		t.Errorf("tinylm's output must say it continued from step %d:\n%s\n%s", ckpts[2], out, errOut)
	}

	s := showJSON(t, home, "tiny")
	loss := s.Metrics["train_loss"]
	if s.Status != "finished" || s.Segments != 3 || loss["count"] != float64(steps) || loss["final_step"] != float64(steps) {
		t.Errorf("after two resumes: status %s, segments %d, train_loss %v; want finished, 3, %d points to step %d", s.Status, s.Segments, loss, steps, steps)
	}
	if s.Active > s.Wall-2*1.4 {
		t.Errorf("active time %.2fs, wallclock %.2fs: the twice 1.5 s the run lay dead must not be active", s.Active, s.Wall)
	}
	for _, ev := range s.Events {
		if ev["kind"] == "alert" {
			t.Errorf("alert after a resume that continued: %v", ev)
		}
	}

	st, err := sqlite.Open(layout.Store(home))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cur, err := st.Points(context.Background(), s.ID, "train_loss", store.PointsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int64, steps)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(cur.Steps, want) {
		t.Errorf("train_loss steps %v: want exactly one point at each step 1..%d", cur.Steps, steps)
	}
	segs, _ := st.Segments(context.Background(), s.ID)
	if len(segs) != 3 {
		t.Fatalf("%d segments, want 3", len(segs))
	}
	// Every attempt's points are all kept, superseded or not: attempt k
	// logged the steps ckpts[k]+1 … N, N at least the next attempt's
	// checkpoint (how many past it depends on when it was killed: none, if
	// at a checkpoint).
	all, _ := st.Points(context.Background(), s.ID, "train_loss", store.PointsOptions{Superseded: true})
	attempts := make([][]int64, 3)
	for i, tm := range all.Times {
		k := 0
		for k < 2 && float64(tm)/1000 >= segs[k+1].Start {
			k++
		}
		attempts[k] = append(attempts[k], all.Steps[i])
	}
	for k, got := range attempts {
		slices.Sort(got)
		end := int64(steps)
		if k < 2 {
			end = ckpts[k+1]
		}
		ok := len(got) > 0 && got[0] == ckpts[k]+1 && got[len(got)-1] >= end
		for i := 1; ok && i < len(got); i++ {
			ok = got[i] == got[i-1]+1
		}
		if !ok {
			t.Errorf("attempt %d logged steps %v: want every step from %d on to at least %d, each once", k+1, got, ckpts[k]+1, end)
		}
	}
}

func childOf(t *testing.T, pid int) int {
	t.Helper()
	var child int
	waitFor(t, func() bool {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			if fs := strings.Fields(string(b)); len(fs) > 0 {
				child, _ = strconv.Atoi(fs[0])
				return true
			}
		}
		return false
	})
	return child
}

// TestRunResumeProgramThatStartsAgain: a program that ignores the
// checkpoint it is handed starts again at step 0. runlog says so on the
// terminal and in an alert, and treats the run as rewound there: one
// curve in show, statistics and exports, the first attempt's points kept
// but superseded. Resumed once more, without a checkpoint left, the same.
func TestRunResumeProgramThatStartsAgain(t *testing.T) {
	home := t.TempDir()
	prog := script(t, `
i=0
while [ $i -le 20 ]; do
  echo "step=$i loss=$((100 - i))"
  if [ $((i % 5)) -eq 0 ]; then
    mkdir -p "$RUNLOG_RUN_DIR/checkpoints"
    echo $i > "$RUNLOG_RUN_DIR/checkpoints/step_$i.txt"
  fi
  if [ ! -e "$RUNLOG_RUN_DIR/checkpoints/step_20.txt" ] && [ $i -eq 12 ] && [ -z "$RUNLOG_CHECKPOINT" ]; then exit 1; fi
  i=$((i + 1))
done
`)
	run(t, home, "run", "--name", "forgetful", "--", prog)
	s := showJSON(t, home, "forgetful")
	registerCheckpoints(t, home, s.ID, []int64{0, 5, 10})
	mustRun(t, home, "index")
	_, errOut, err := run(t, home, "run", "--resume", "forgetful", "--", prog)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, errOut)
	}
	const said = "runlog: resumed from step 10, but the program started again at step 0: did it restore RUNLOG_CHECKPOINT?"
	if !strings.Contains(errOut, said) {
		t.Errorf("the terminal must say %q:\n%s", said, errOut)
	}
	check := func(attempts int, alerts []string) {
		t.Helper()
		s := showJSON(t, home, "forgetful")
		loss := s.Metrics["loss"]
		if loss["count"] != 21.0 || loss["initial_step"] != 0.0 || loss["final_step"] != 20.0 || loss["max"] != 100.0 || loss["mean"] != 90.0 {
			t.Errorf("after %d attempts: loss %v; want one curve of 21 points, steps 0..20", attempts, loss)
		}
		var got []string
		for _, ev := range s.Events {
			if ev["kind"] == "alert" {
				got = append(got, ev["title"].(string))
			}
		}
		if !slices.Equal(got, alerts) {
			t.Errorf("after %d attempts: alerts %q, want %q (once each)", attempts, got, alerts)
		}
		// metrics.csv, as `runlog export` writes it: one row per step.
		dir := t.TempDir()
		mustRun(t, home, "export", "forgetful", "--output", dir)
		f, err := os.Open(filepath.Join(dir, "metrics.csv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil || len(rows) != 22 {
			t.Errorf("metrics.csv: %d rows (%v), want a header and 21 steps", len(rows), err)
		}
		text := mustRun(t, home, "show", "forgetful")
		if !strings.Contains(text, "started again at step 0") {
			t.Errorf("runlog show does not tell of the restart:\n%s", text)
		}
		st, err := sqlite.Open(layout.Store(home))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		all, _ := st.Points(context.Background(), s.ID, "loss", store.PointsOptions{Superseded: true})
		if want := 13 + 21*(attempts-1); all.Len() != want {
			t.Errorf("after %d attempts: %d loss points kept in all, want %d", attempts, all.Len(), want)
		}
	}
	check(2, []string{"resumed from step 10, but started again at step 0"})

	// A resume of the resume: the earlier checkpoints were the abandoned
	// attempt's, so the program starts without one, and again at step 0.
	_, errOut, err = run(t, home, "run", "--resume", "forgetful", "--", prog)
	if err != nil {
		t.Fatalf("second resume: %v\n%s", err, errOut)
	}
	check(3, []string{"resumed from step 10, but started again at step 0", "resumed from step 20, but started again at step 0"})
}
