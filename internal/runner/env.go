package runner

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/sysmetrics"
)

// pythonProbe prints the interpreter's version and those of the packages
// training code depends on, read from their metadata: importing torch takes
// seconds, reading its version does not.
const pythonProbe = `import sys, importlib.metadata as m
print("python", sys.version.split()[0])
for p in ("torch", "numpy", "jax", "transformers", "runlog"):
    try: print(p, m.version(p))
    except Exception: pass
`

// Environment describes what a command will run with: the Python it uses
// and its packages, and the GPUs with their driver's CUDA version. It takes
// at most a few seconds, and leaves out what it cannot find.
func Environment(ctx context.Context, command []string) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	env := map[string]string{}
	py := "python3"
	if len(command) > 0 && strings.HasPrefix(filepath.Base(command[0]), "python") {
		py = command[0]
	}
	if out, err := exec.CommandContext(ctx, py, "-c", pythonProbe).Output(); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), " "); ok {
				env[k] = v
			}
		}
	}
	if gpus, err := sysmetrics.QueryGPUs(ctx); err == nil {
		names := make([]string, len(gpus))
		for i, g := range gpus {
			names[i] = g.Name
		}
		env["gpus"] = strings.Join(names, ", ")
		env["gpu_count"] = fmt.Sprint(len(gpus))
		if out, err := exec.CommandContext(ctx, "nvidia-smi").Output(); err == nil {
			if m := cudaRE.FindSubmatch(out); m != nil {
				env["cuda_driver"] = string(m[1])
			}
		}
	}
	return env
}

var cudaRE = regexp.MustCompile(`CUDA Version:\s*([0-9.]+)`)
