package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDoctorConfigs(t *testing.T) {
	home := t.TempDir()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "train.bin"), []byte("x"), 0o644)
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"vocab_size": 10000, "context_length": 256, "d_model": 512, "num_layers": 4,
		"num_heads": 16, "d_ff": 1344, "batch_size": 32, "max_steps": 5000, "optim": {"lr": 3e-4},
		"data": {"train_path": "train.bin"}}`), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"d_model": 512, "val_path": "missing.bin"}`), 0o644)
	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, []byte(`{"d_model": 512,}`), 0o644)

	out, _, _ := run(t, home, "doctor", "--config", good, "--python", "no-such-python")
	for _, want := range []string{"✓ runlog", "✓ home", "✓ store", "(schema", "✗ python client", "no-such-python not found",
		"good.json: valid", "✓ data           data.train_path = train.bin"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	out, _, err := run(t, home, "doctor", "--config", bad, "--config", broken, "--python", "no-such-python")
	if err == nil {
		t.Error("doctor with failing checks exited 0")
	}
	for _, want := range []string{"missing vocab_size, context_length", "max_steps or total_steps", "val_path = missing.bin (not found)",
		"not valid JSON", "→ "} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckpointsCommand(t *testing.T) {
	home := fixtureHome(t)
	out := mustRun(t, home, "checkpoints", "k3v9")
	if !strings.Contains(out, "*") || !strings.Contains(out, "checkpoints/step_000001.pt") || !strings.Contains(out, "val_loss 5.25") ||
		!strings.Contains(out, "(deleted)") || !strings.Contains(out, "1.0 MiB") {
		t.Errorf("checkpoints:\n%s", out)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, home, "checkpoints", "k3v9", "--json")), &rows); err != nil || len(rows) != 1 || rows[0]["best"] != true {
		t.Errorf("checkpoints --json: %v %v", rows, err)
	}
	if out := mustRun(t, home, "checkpoints", "resumed"); !strings.Contains(out, "no checkpoints") {
		t.Errorf("run without checkpoints: %s", out)
	}
}

// TestDoctorWithoutPython: where the Python client is not installed, a
// Go-only healthy set-up is healthy: the client is information, and
// doctor exits 0; asked to check a config (the reference training is a
// Python program), the missing client fails.
func TestDoctorWithoutPython(t *testing.T) {
	home := t.TempDir()
	t.Setenv("PATH", t.TempDir()) // no python3, no nvidia-smi
	t.Setenv("RUNLOG_URL", "")
	out, _, err := run(t, home, "doctor")
	if err != nil || !strings.Contains(out, "· python client  not installed (python3 not found)") || strings.Contains(out, "✗") {
		t.Errorf("Go-only set-up: %v\n%s", err, out)
	}
	cfg := filepath.Join(t.TempDir(), "cfg.json")
	os.WriteFile(cfg, []byte(`{"vocab_size": 10000, "context_length": 256, "d_model": 512, "num_layers": 4,
		"num_heads": 16, "d_ff": 1344, "batch_size": 32, "max_steps": 5000, "lr": 3e-4}`), 0o644)
	out, _, err = run(t, home, "doctor", "--config", cfg)
	if err == nil || !strings.Contains(out, "✗ python client  python3 not found") {
		t.Errorf("a config to train with Python: %v\n%s", err, out)
	}
}
