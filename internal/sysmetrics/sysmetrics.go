// Package sysmetrics samples what a training process uses of the machine:
// CPU and memory of its process tree, of the whole machine, and of each
// NVIDIA GPU. The runner logs the samples as sys/* series.
package sysmetrics

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

var nan = math.NaN()

// clockTicks is the unit of CPU times in /proc (USER_HZ), 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// Sampler samples a process tree and the machine. Its zero value is not
// usable; use New.
type Sampler struct {
	pid     int
	proc    string // /proc, or a fixture in tests
	gpus    func(context.Context) ([]GPU, error)
	noGPU   bool
	lastCPU float64 // CPU seconds of the tree at lastAt
	lastAt  time.Time
	sysBusy uint64 // machine jiffies at the last sample
	sysAll  uint64
}

// New returns a sampler of the process tree rooted at pid.
func New(pid int) *Sampler {
	return &Sampler{pid: pid, proc: "/proc", gpus: QueryGPUs}
}

// Sample returns the current values, keyed as runlog logs them:
//
//	sys/cpu_percent          CPU of the process tree, 100 = one core busy
//	sys/rss_mb               resident memory of the process tree, MiB
//	sys/system_cpu_percent   CPU of the whole machine, 100 = all cores busy
//	sys/memory_percent       memory of the whole machine in use
//	sys/gpu<i>/util_percent, memory_mb, memory_percent, power_w, temp_c
//
// Rates (the CPU percentages) appear from the second sample on. Values that
// cannot be read on this machine are left out.
func (s *Sampler) Sample(ctx context.Context) map[string]float64 {
	m := map[string]float64{}
	now := time.Now()
	if cpu, rss, ok := s.tree(); ok {
		m["sys/rss_mb"] = rss / (1 << 20)
		if !s.lastAt.IsZero() {
			if dt := now.Sub(s.lastAt).Seconds(); dt > 0 {
				m["sys/cpu_percent"] = max(0, (cpu-s.lastCPU)/dt*100)
			}
		}
		s.lastCPU, s.lastAt = cpu, now
	}
	if busy, all, ok := s.machineCPU(); ok {
		if s.sysAll > 0 && all > s.sysAll {
			m["sys/system_cpu_percent"] = float64(busy-s.sysBusy) / float64(all-s.sysAll) * 100
		}
		s.sysBusy, s.sysAll = busy, all
	}
	if used, ok := s.memory(); ok {
		m["sys/memory_percent"] = used
	}
	if !s.noGPU && s.gpus != nil {
		gpus, err := s.gpus(ctx)
		if err != nil {
			s.noGPU = true // no GPU now means none later: stop asking
		}
		for _, g := range gpus {
			AddGPU(m, g)
		}
	}
	return m
}

// AddGPU adds the values of one GPU to m.
func AddGPU(m map[string]float64, g GPU) {
	p := fmt.Sprintf("sys/gpu%d/", g.Index)
	set := func(k string, v float64) {
		if !math.IsNaN(v) {
			m[p+k] = v
		}
	}
	set("util_percent", g.Util)
	set("memory_mb", g.MemUsed)
	if g.MemTotal > 0 {
		set("memory_percent", g.MemUsed/g.MemTotal*100)
	}
	set("power_w", g.Power)
	set("temp_c", g.Temp)
}

// tree returns the CPU seconds and resident bytes of the process tree.
func (s *Sampler) tree() (cpu, rss float64, ok bool) {
	entries, err := os.ReadDir(s.proc)
	if err != nil {
		return 0, 0, false
	}
	type proc struct {
		ppid     int
		cpu, rss float64
	}
	procs := map[int]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(s.proc, e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		ppid, c, r, ok := parseStat(data)
		if ok {
			procs[pid] = proc{ppid, c, r}
		}
	}
	if _, found := procs[s.pid]; !found {
		return 0, 0, false
	}
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	stack := []int{s.pid}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p := procs[pid]
		cpu += p.cpu
		rss += p.rss
		stack = append(stack, children[pid]...)
	}
	return cpu, rss, true
}

// parseStat reads the parent pid, the CPU seconds (user + system) and the
// resident bytes from the contents of /proc/<pid>/stat.
func parseStat(data []byte) (ppid int, cpu, rss float64, ok bool) {
	// The command name, in parentheses, may hold spaces and parentheses:
	// the fields that follow start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := bytes.Fields(data[i+1:])
	// f[0] is field 3 (state); ppid is field 4, utime 14, stime 15, rss 24.
	if len(f) < 22 {
		return 0, 0, 0, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	ut, err2 := strconv.ParseFloat(string(f[11]), 64)
	st, err3 := strconv.ParseFloat(string(f[12]), 64)
	pages, err4 := strconv.ParseFloat(string(f[21]), 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return 0, 0, 0, false
	}
	return ppid, (ut + st) / clockTicks, pages * float64(os.Getpagesize()), true
}

// machineCPU returns the busy and total jiffies of all CPUs.
func (s *Sampler) machineCPU() (busy, all uint64, ok bool) {
	f, err := os.Open(filepath.Join(s.proc, "stat"))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0, false
	}
	fields := bytes.Fields(sc.Bytes())
	if len(fields) < 5 || string(fields[0]) != "cpu" {
		return 0, 0, false
	}
	for i, v := range fields[1:] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		all += n
		if i != 3 && i != 4 { // idle and iowait
			busy += n
		}
	}
	return busy, all, true
}

// memory returns the percentage of the machine's memory in use.
func (s *Sampler) memory() (float64, bool) {
	data, err := os.ReadFile(filepath.Join(s.proc, "meminfo"))
	if err != nil {
		return 0, false
	}
	var total, avail float64
	for _, line := range bytes.Split(data, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(string(f[1]), 64)
		switch string(f[0]) {
		case "MemTotal:":
			total = v
		case "MemAvailable:":
			avail = v
		}
	}
	if total <= 0 {
		return 0, false
	}
	return (total - avail) / total * 100, true
}
