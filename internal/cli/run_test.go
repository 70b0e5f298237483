package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/store/postgres/pgtest"
)

// TestMain lets the test binary act as the runlog command, so that tests
// can run it as a process of its own and kill it.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("RUNLOG_TEST_AS_RUNLOG"); ok {
		os.Exit(Main(strings.Fields(args)))
	}
	os.Exit(pgtest.Main(m)) // stops the PostgreSQL that TestPull starts
}

// runlogProcess returns a command that runs runlog with args against home.
func runlogProcess(home string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RUNLOG_TEST_AS_RUNLOG="+strings.Join(append([]string{"--home", home}, args...), " "))
	return cmd
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "train.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

type shown struct {
	ID       string                     `json:"id"`
	Status   string                     `json:"status"`
	ExitCode *int                       `json:"exit_code"`
	Error    string                     `json:"error"`
	Steps    int64                      `json:"total_steps"`
	Active   float64                    `json:"active_time"`
	Wall     float64                    `json:"wallclock_time"`
	Metrics  map[string]map[string]any  `json:"metrics"`
	Events   []map[string]any           `json:"events"`
	Config   map[string]any             `json:"config"`
	Env      map[string]string          `json:"environment"`
	Command  []string                   `json:"command"`
	Segments int                        `json:"segments"`
	Values   map[string]json.RawMessage `json:"summary"`
}

func showJSON(t *testing.T, home, ref string) shown {
	t.Helper()
	var s shown
	out := mustRun(t, home, "show", ref, "--json")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("show --json: %v\n%s", err, out)
	}
	return s
}

func TestRunParsesOutput(t *testing.T) {
	home := t.TempDir()
	prog := script(t, `
echo "loading data"
for i in 0 1 2 3 4; do echo "step=$i loss=$((10 - i)) lr=0.001"; done
echo '{"step": 5, "val_loss": 4.5, "val": {"ppl": 90}}'
echo "Traceback (most recent call last):" >&2
echo "ValueError: bad batch" >&2
exit 3
`)
	_, _, err := run(t, home, "run", "--name", "plain", "--config", writeJSON(t, map[string]any{"lr": 0.001, "model": map[string]any{"d": 64}}),
		"--set", "model.d=128", "--set", "opt=adamw", "--", prog, "--flag")
	if code, ok := err.(exitCode); !ok || code != 3 {
		t.Fatalf("runlog run exited with %v, want the program's exit code 3", err)
	}
	s := showJSON(t, home, "plain")
	if s.Status != "failed" || *s.ExitCode != 3 || !strings.Contains(s.Error, "ValueError: bad batch") {
		t.Errorf("status %s, exit %v, error %q", s.Status, s.ExitCode, s.Error)
	}
	if s.Metrics["loss"]["count"] != 5.0 || s.Metrics["loss"]["final"] != 6.0 || s.Metrics["val_loss"]["final"] != 4.5 || s.Metrics["val/ppl"] == nil {
		t.Errorf("metrics %v", s.Metrics)
	}
	if s.Config["model"].(map[string]any)["d"] != 128.0 || s.Config["opt"] != "adamw" || s.Config["lr"] != 0.001 {
		t.Errorf("config %v: --set must override the file, typed", s.Config)
	}
	if strings.Join(s.Command, " ") != prog+" --flag" {
		t.Errorf("command %v", s.Command)
	}
	log, err := os.ReadFile(filepath.Join(home, "runs", s.ID, "training.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "\tstdout\tloading data\n") || !strings.Contains(string(log), "\tstderr\tValueError: bad batch\n") {
		t.Errorf("training.log:\n%s", log)
	}
	for _, f := range []string{"metrics.csv", "metrics.json", "summary.json", "config.json"} {
		if _, err := os.Stat(filepath.Join(home, "runs", s.ID, f)); err != nil {
			t.Errorf("%s was not written when the run ended", f)
		}
	}
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, _ := json.Marshal(v)
	path := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(path, b, 0o644)
	return path
}

// TestRunInterleavedOutput checks that stdout and stderr lines land in
// training.log in the order they were written, each whole.
func TestRunInterleavedOutput(t *testing.T) {
	home := t.TempDir()
	prog := script(t, `for i in $(seq 1 200); do echo "out $i"; echo "err $i" >&2; done`)
	mustRun(t, home, "run", "--name", "io", "--", prog)
	s := showJSON(t, home, "io")
	f, _ := os.Open(filepath.Join(home, "runs", s.ID, "training.log"))
	defer f.Close()
	sc := bufio.NewScanner(f)
	next := map[string]int{"stdout": 1, "stderr": 1}
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("bad line %q", sc.Text())
		}
		want := fmt.Sprintf("%s %d", map[string]string{"stdout": "out", "stderr": "err"}[parts[1]], next[parts[1]])
		if parts[2] != want {
			t.Fatalf("%s line %q, want %q", parts[1], parts[2], want)
		}
		next[parts[1]]++
	}
	if next["stdout"] != 201 || next["stderr"] != 201 {
		t.Errorf("lines: %v", next)
	}
}

// TestRunKillChild kills the program with SIGKILL: the run ends killed
// with what it logged before.
func TestRunKillChild(t *testing.T) {
	home := t.TempDir()
	prog := script(t, `for i in 0 1 2; do echo "step=$i loss=1"; done; kill -9 $$`)
	_, _, err := run(t, home, "run", "--name", "victim", "--", prog)
	if code, ok := err.(exitCode); !ok || code != 137 {
		t.Fatalf("exit %v, want 137", err)
	}
	s := showJSON(t, home, "victim")
	if s.Status != "killed" || !strings.Contains(s.Error, "killed by signal killed") || s.Metrics["loss"]["count"] != 3.0 {
		t.Errorf("status %s, error %q, loss %v", s.Status, s.Error, s.Metrics["loss"])
	}
}

// TestRunForwardsSIGTERM sends SIGTERM to the runner: it reaches the
// program, whose handler runs, and the run ends killed.
func TestRunForwardsSIGTERM(t *testing.T) {
	home := t.TempDir()
	marker := filepath.Join(t.TempDir(), "got-term")
	prog := script(t, fmt.Sprintf(`trap 'echo term > %s; exit 143' TERM
echo "step=0 loss=1"
while :; do sleep 0.05; done
`, marker))
	cmd := runlogProcess(home, "run", "--name", "termed", "--", prog)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return runsIn(home) == 1 && hasLine(home, "step=0") })
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if cmd.ProcessState.ExitCode() != 143 {
		t.Errorf("runner exit code %d, want 143", cmd.ProcessState.ExitCode())
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("the program's SIGTERM handler did not run")
	}
	if s := showJSON(t, home, "termed"); s.Status != "killed" {
		t.Errorf("status %s, want killed", s.Status)
	}
}

// TestRunKillRunner kills the runner with SIGKILL: the run has no final
// status and is shown as crashed once its heartbeat is stale, with
// everything flushed before.
func TestRunKillRunner(t *testing.T) {
	home := t.TempDir()
	prog := script(t, `for i in 0 1 2 3; do echo "step=$i loss=1"; done; sleep 30`)
	cmd := runlogProcess(home, "run", "--name", "orphan", "--", prog)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	waitFor(t, func() bool { return runsIn(home) == 1 && hasLine(home, "step=3") })
	time.Sleep(1500 * time.Millisecond) // a flush interval
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	s := showJSON(t, home, "orphan")
	if s.Status != "running" || s.Metrics["loss"]["count"] != 4.0 {
		t.Errorf("right after the kill: status %s, loss %v", s.Status, s.Metrics["loss"])
	}
	var out strings.Builder
	e := &env{stdout: &out, stderr: &strings.Builder{}, now: func() time.Time { return time.Now().Add(3 * time.Minute) }}
	root := newRoot(e)
	root.SetArgs([]string{"--home", home, "ls", "--status", "crashed"})
	if err := root.Execute(); err != nil || !strings.Contains(out.String(), "orphan") {
		t.Errorf("3 minutes later ls --status crashed: %v\n%s", err, out.String())
	}
}

func TestRunResumeRewinds(t *testing.T) {
	home := t.TempDir()
	// A program that checkpoints every 5 steps and dies at step 12; resumed,
	// it continues from the checkpoint it is given.
	prog := script(t, `
start=0
if [ -n "$RUNLOG_CHECKPOINT" ]; then start=$(cat "$RUNLOG_CHECKPOINT"); start=$((start + 1)); fi
i=$start
while [ $i -le 20 ]; do
  echo "step=$i loss=$((100 - i))"
  if [ $((i % 5)) -eq 0 ]; then
    mkdir -p "$RUNLOG_RUN_DIR/checkpoints"
    echo $i > "$RUNLOG_RUN_DIR/checkpoints/step_$i.txt"
    echo "{\"step\": $i, \"ckpt\": $i}"
  fi
  if [ -z "$RUNLOG_CHECKPOINT" ] && [ $i -eq 12 ]; then exit 1; fi
  i=$((i + 1))
done
`)
	run(t, home, "run", "--name", "resumable", "--set", "model.d=64", "--set", "model.layers=2", "--", prog)
	// Register the checkpoints the program wrote, as a client would.
	s := showJSON(t, home, "resumable")
	registerCheckpoints(t, home, s.ID, []int64{0, 5, 10})
	mustRun(t, home, "index") // logs attached after the run ended are found by a deep index
	_, errOut, err := run(t, home, "run", "--resume", "resumable", "--set", "model.d=128", "--", prog)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "from checkpoints/step_10.txt (step 10)") {
		t.Errorf("resume message: %q", errOut)
	}
	s = showJSON(t, home, "resumable")
	loss := s.Metrics["loss"]
	// Steps 11 and 12 of the first attempt are superseded; 11..20 again.
	if s.Status != "finished" || loss["count"] != 21.0 || loss["final_step"] != 20.0 || s.Segments != 2 {
		t.Errorf("after resume: status %s, loss %v, segments %d", s.Status, loss, s.Segments)
	}
	if m := s.Config["model"].(map[string]any); m["d"] != 128.0 || m["layers"] != 2.0 {
		t.Errorf("config after resume %v: --set changes one key of the run's config and keeps the rest", s.Config)
	}
	var kinds []string
	for _, ev := range s.Events {
		kinds = append(kinds, ev["kind"].(string))
	}
	if !strings.Contains(strings.Join(kinds, " "), "resumed rewound") {
		t.Errorf("events %v", kinds)
	}
}

// registerCheckpoints appends artifact records for step_N.txt files to the
// run's log, through an attached log as a client in the program would.
func registerCheckpoints(t *testing.T, home, id string, steps []int64) {
	t.Helper()
	t.Setenv("RUNLOG_HOME", home)
	t.Setenv("RUNLOG_RUN_ID", id)
	r, err := runlog.Init(runlog.Options{DisableGit: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		path := filepath.Join(home, "runs", id, "checkpoints", fmt.Sprintf("step_%d.txt", s))
		if err := r.LogArtifact(path, runlog.Artifact{Kind: "checkpoint", Step: s}); err != nil {
			t.Fatal(err)
		}
	}
	r.Finish(1)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("timed out")
}

func runsIn(home string) int {
	entries, _ := os.ReadDir(filepath.Join(home, "runs"))
	return len(entries)
}

func hasLine(home, text string) bool {
	matches, _ := filepath.Glob(filepath.Join(home, "runs", "*", "training.log"))
	for _, m := range matches {
		if b, _ := os.ReadFile(m); strings.Contains(string(b), text) {
			return true
		}
	}
	return false
}
