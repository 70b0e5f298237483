package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sweepFile writes a sweep file running prog over lr in values, and
// returns its path.
func sweepFile(t *testing.T, prog, extra string, values ...string) string {
	t.Helper()
	body := fmt.Sprintf("name: s\ncommand: [%s, \"${args}\"]\nparameters:\n  lr:\n    values: [%s]\n%s", prog, strings.Join(values, ", "), extra)
	path := filepath.Join(t.TempDir(), "sweep.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type shownSweep struct {
	Running bool `json:"running"`
	Members []struct {
		Name   string   `json:"name"`
		RunID  string   `json:"run_id"`
		State  string   `json:"state"`
		Best   *float64 `json:"best"`
		Reason string   `json:"reason"`
	} `json:"members"`
}

func showSweep(t *testing.T, home string) shownSweep {
	t.Helper()
	var s shownSweep
	out := mustRun(t, home, "sweep", "show", "s", "--json")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return s
}

func states(s shownSweep) string {
	var out []string
	for _, m := range s.Members {
		out = append(out, m.State)
	}
	return strings.Join(out, " ")
}

func TestSweepDryRun(t *testing.T) {
	file := sweepFile(t, "./train.sh", "seeds: [1, 2]\n", "1e-3", "3e-3")
	out := mustRun(t, t.TempDir(), "sweep", file, "--dry-run")
	for _, want := range []string{"4 members", "lr=1e-3 seed=2", "./train.sh --lr=3e-3 --seed=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	bad := sweepFile(t, "./train.sh", "seedz: [1]\n", "1")
	if _, _, err := run(t, t.TempDir(), "sweep", bad, "--dry-run"); err == nil || !strings.Contains(err.Error(), "sweep.yaml:6: unknown key \"seedz\"") {
		t.Errorf("unknown key: %v", err)
	}
}

// TestSweepFailuresAndResume: a member that crashes at start and one
// killed by kill -9 do not stop the others; resume runs them again.
func TestSweepFailuresAndResume(t *testing.T) {
	home := t.TempDir()
	marker := filepath.Join(t.TempDir(), "second")
	prog := script(t, `
case "$1" in
--lr=crash) [ -e `+marker+` ] || exit 3 ;;
--lr=kill) [ -e `+marker+` ] || kill -9 $$ ;;
esac
for i in 0 1 2; do echo "step=$i val_loss=$((5 - i))"; done
`)
	file := sweepFile(t, prog, "metric: {name: val_loss}\n", "crash", "1", "kill", "2")
	_, errOut, err := run(t, home, "sweep", file, "--parallel", "2")
	if err == nil || !strings.Contains(err.Error(), "2 finished, 1 failed, 0 stopped, 1 killed") {
		t.Fatalf("sweep: %v\n%s", err, errOut)
	}
	s := showSweep(t, home)
	if got := states(s); got != "failed finished killed finished" {
		t.Errorf("states %q", got)
	}
	if s.Members[1].Best == nil || *s.Members[1].Best != 3 {
		t.Errorf("best of member 1: %v", s.Members[1].Best)
	}
	killedRun := s.Members[2].RunID
	if sh := showJSON(t, home, killedRun); sh.Config["lr"] != "kill" || sh.Config["sweep"] == nil {
		t.Errorf("member config %v", sh.Config)
	}
	os.WriteFile(marker, nil, 0o644)
	_, errOut, err = run(t, home, "sweep", "resume", "s")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, errOut)
	}
	s = showSweep(t, home)
	if got := states(s); got != "finished finished finished finished" || s.Members[2].RunID != killedRun {
		t.Errorf("after resume: %q, run %s (was %s)", got, s.Members[2].RunID, killedRun)
	}
	if sh := showJSON(t, home, killedRun); sh.Segments != 2 {
		t.Errorf("the killed member's run has %d segments, want 2 (resumed)", sh.Segments)
	}
	if _, _, err := run(t, home, "sweep", file); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second sweep of the same name: %v", err)
	}
}

// TestSweepMedianStops: with the median rule, a member worse than the
// median of those before it at the same step ends stopped, not failed.
func TestSweepMedianStops(t *testing.T) {
	home := t.TempDir()
	prog := script(t, `
v=${1#--lr=}
for i in 0 1 2 3 4 5; do echo "step=$i val_loss=$v"; sleep 0.05; done
`)
	file := sweepFile(t, prog, "metric: {name: val_loss}\nearly_terminate: {type: median, min_steps: 2, min_members: 2}\n", "1", "2", "3", "9")
	if _, errOut, err := run(t, home, "sweep", file); err != nil {
		t.Fatalf("sweep: %v\n%s", err, errOut)
	}
	s := showSweep(t, home)
	if got := states(s); got != "finished finished stopped stopped" {
		t.Errorf("states %q", got)
	}
	if !strings.Contains(s.Members[3].Reason, "median stopping rule") {
		t.Errorf("reason %q", s.Members[3].Reason)
	}
	sh := showJSON(t, home, s.Members[3].RunID)
	found := false
	for _, ev := range sh.Events {
		found = found || strings.Contains(fmt.Sprint(ev), "median stopping rule")
	}
	if sh.Status != "stopped" || !found {
		t.Errorf("run %s status %s, events %v", sh.ID, sh.Status, sh.Events)
	}
	var listed []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, home, "ls", "--status", "stopped", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range listed {
		ids[r.ID] = true
	}
	if len(listed) != 2 || !ids[s.Members[2].RunID] || !ids[s.Members[3].RunID] {
		t.Errorf("ls --status stopped: %v, want the runs of members 2 and 3", listed)
	}
}

// TestSweepResumeMedianSeeded: a resumed sweep judges its members by the
// history of the members that finished before it, read from the store.
func TestSweepResumeMedianSeeded(t *testing.T) {
	home := t.TempDir()
	marker := filepath.Join(t.TempDir(), "second")
	prog := script(t, `
v=${1#--lr=}
[ "$v" = 9 ] && [ ! -e `+marker+` ] && exit 3
for i in 0 1 2 3 4 5; do echo "step=$i val_loss=$v"; done
`)
	file := sweepFile(t, prog, "metric: {name: val_loss}\nearly_terminate: {type: median, min_steps: 2, min_members: 3}\n", "1", "2", "3", "9")
	if _, errOut, err := run(t, home, "sweep", file); err == nil || !strings.Contains(err.Error(), "3 finished, 1 failed") {
		t.Fatalf("sweep: %v\n%s", err, errOut)
	}
	os.WriteFile(marker, nil, 0o644)
	if _, errOut, err := run(t, home, "sweep", "resume", "s"); err != nil {
		t.Fatalf("resume: %v\n%s", err, errOut)
	}
	s := showSweep(t, home)
	if got := states(s); got != "finished finished finished stopped" {
		t.Errorf("after resume: %q", got)
	}
	if r := s.Members[3].Reason; !strings.Contains(r, "median 2 of 3 members") {
		t.Errorf("reason %q", r)
	}
}

// TestSweepRunnerKilled kills the runner (and its members) with kill -9
// mid-sweep; a second sweep is refused while it runs, and sweep resume
// then runs the rest, continuing the member that was running.
func TestSweepRunnerKilled(t *testing.T) {
	home := t.TempDir()
	started := filepath.Join(t.TempDir(), "started")
	prog := script(t, `
echo x >> `+started+`
for i in 0 1 2; do echo "step=$i loss=1"; sleep 0.1; done
`)
	file := sweepFile(t, prog, "", "1", "2", "3")
	cmd := runlogProcess(home, "sweep", file)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, _ := os.ReadFile(started); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatal("the first member never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, _, err := run(t, home, "sweep", "resume", "s"); err == nil || !strings.Contains(err.Error(), "running in another process") {
		t.Errorf("resume while running: %v", err)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	s := showSweep(t, home)
	if s.Running || s.Members[0].State != "crashed" {
		t.Errorf("after kill -9: running %v, states %q", s.Running, states(s))
	}
	first := s.Members[0].RunID
	if _, errOut, err := run(t, home, "sweep", "resume", "s"); err != nil {
		t.Fatalf("resume: %v\n%s", err, errOut)
	}
	s = showSweep(t, home)
	if got := states(s); got != "finished finished finished" || s.Members[0].RunID != first {
		t.Errorf("after resume: %q", got)
	}
}

// TestSweepFullDisk runs a sweep whose home fills up: members fail, the
// sweep ends and says so, and its record stays readable.
func TestSweepFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	home := filepath.Join(t.TempDir(), "home")
	os.Mkdir(home, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", home).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", home).Run() })
	prog := script(t, `
i=0
while [ $i -lt 300 ]; do echo "step=$i loss=1 pad=$(printf '%0200d' $i)"; i=$((i+1)); done
`)
	file := sweepFile(t, prog, "", "1", "2", "3", "4", "5", "6")
	done := make(chan error, 1)
	go func() { _, _, err := run(t, home, "sweep", file, "-q"); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Log("the sweep fitted in 256 KiB")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the sweep hangs on a full disk")
	}
	if _, _, err := run(t, home, "sweep", "ls", "--json"); err != nil {
		t.Errorf("sweep ls after a full disk: %v", err)
	}
}
