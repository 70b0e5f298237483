package sysmetrics

import (
	"context"
	"math"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestParseNvidiaSMI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []GPU
	}{
		{"testdata/nvidia-smi-2xh100.csv", []GPU{
			{0, "NVIDIA H100 80GB HBM3", 97, 61234, 81559, 612.48, 71},
			{1, "NVIDIA H100 80GB HBM3", 0, 4, 81559, 69.87, 33},
		}},
		{"testdata/nvidia-smi-na.csv", []GPU{{0, "Tesla T4", 42, 1024, 15360, math.NaN(), 58}}},
	}
	for _, tt := range tests {
		data, err := os.ReadFile(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseNvidiaSMI(data)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if len(got) != len(tt.want) {
			t.Fatalf("%s: %d GPUs", tt.file, len(got))
		}
		for i, g := range got {
			w := tt.want[i]
			if g.Index != w.Index || g.Name != w.Name || g.Util != w.Util || g.MemUsed != w.MemUsed ||
				g.Temp != w.Temp || !(g.Power == w.Power || math.IsNaN(g.Power) && math.IsNaN(w.Power)) {
				t.Errorf("%s GPU %d = %+v, want %+v", tt.file, i, g, w)
			}
		}
	}
	m := map[string]float64{}
	g, _ := ParseNvidiaSMI([]byte("0, Tesla T4, 42, 1024, 15360, [N/A], 58\n"))
	AddGPU(m, g[0])
	if _, ok := m["sys/gpu0/power_w"]; ok || m["sys/gpu0/memory_percent"] != 1024.0/15360*100 || m["sys/gpu0/util_percent"] != 42 {
		t.Errorf("metrics %v: unknown power must be left out", m)
	}
	for _, bad := range []string{"0, x, 1, 2", "zero, x, 1, 2, 3, 4, 5"} {
		if _, err := ParseNvidiaSMI([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseNvidiaSMI(f *testing.F) {
	for _, file := range []string{"testdata/nvidia-smi-2xh100.csv", "testdata/nvidia-smi-na.csv"} {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseNvidiaSMI(data) // must not panic
	})
}

func TestParseStat(t *testing.T) {
	t.Parallel()
	line := []byte("4242 (python3 (train) x) R 4200 4242 4200 0 -1 4194304 1000 0 0 0 250 50 0 0 20 0 8 0 12345 999999 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0")
	ppid, cpu, rss, ok := parseStat(line)
	if !ok || ppid != 4200 || cpu != 3 || rss != 2048*float64(os.Getpagesize()) {
		t.Errorf("parseStat = %d %v %v %v", ppid, cpu, rss, ok)
	}
}

// TestSampleProcessTree samples a real child that burns CPU in a grandchild.
func TestSampleProcessTree(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	cmd := exec.Command("sh", "-c", "sh -c 'while :; do :; done' & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	s := New(cmd.Process.Pid)
	s.gpus = func(context.Context) ([]GPU, error) {
		return []GPU{{Index: 0, Util: 50, MemUsed: 1, MemTotal: 2, Power: 100, Temp: 40}}, nil
	}
	first := s.Sample(context.Background())
	if _, ok := first["sys/cpu_percent"]; ok {
		t.Error("a CPU rate from a single sample")
	}
	time.Sleep(500 * time.Millisecond)
	m := s.Sample(context.Background())
	if m["sys/cpu_percent"] < 5 { // a busy loop, on a machine that may be loaded
		t.Errorf("cpu %v%%: the busy grandchild is not counted", m["sys/cpu_percent"])
	}
	if m["sys/rss_mb"] <= 0 || m["sys/memory_percent"] <= 0 || m["sys/system_cpu_percent"] <= 0 || m["sys/gpu0/power_w"] != 100 {
		t.Errorf("sample %v", m)
	}
}
