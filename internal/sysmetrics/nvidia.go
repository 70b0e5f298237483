package sysmetrics

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// GPU is what nvidia-smi reports of one GPU. A value it does not know is
// NaN.
type GPU struct {
	Index    int
	Name     string
	Util     float64 // %
	MemUsed  float64 // MiB
	MemTotal float64 // MiB
	Power    float64 // W
	Temp     float64 // °C
}

// nvidiaQuery is the nvidia-smi query whose CSV output ParseNvidiaSMI reads.
var nvidiaQuery = []string{
	"--query-gpu=index,name,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu",
	"--format=csv,noheader,nounits",
}

// ErrNoGPU is returned when no NVIDIA GPU can be queried.
var ErrNoGPU = errors.New("no NVIDIA GPU (nvidia-smi not found or failing)")

// QueryGPUs asks nvidia-smi about every GPU.
func QueryGPUs(ctx context.Context) ([]GPU, error) {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil, ErrNoGPU
	}
	out, err := exec.CommandContext(ctx, path, nvidiaQuery...).Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoGPU, err)
	}
	return ParseNvidiaSMI(out)
}

// ParseNvidiaSMI reads the CSV output of nvidia-smi for nvidiaQuery: one
// line per GPU, fields separated by ", ", "[N/A]" or "[Not Supported]"
// where a value is unknown.
func ParseNvidiaSMI(out []byte) ([]GPU, error) {
	var gpus []GPU
	for n, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 7 {
			return nil, fmt.Errorf("nvidia-smi line %d: %d fields, want 7: %q", n+1, len(f), line)
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		idx, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("nvidia-smi line %d: GPU index %q", n+1, f[0])
		}
		gpus = append(gpus, GPU{
			Index: idx, Name: f[1],
			Util: num(f[2]), MemUsed: num(f[3]), MemTotal: num(f[4]), Power: num(f[5]), Temp: num(f[6]),
		})
	}
	return gpus, nil
}

func num(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nan
	}
	return v
}
