package chartbench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
)

// writeRuns writes run logs as a training loop would: a step every 50 ms
// (so 1 M steps take 14 hours), a noisy float32 train loss at every step,
// a validation loss every 1,000 steps and the learning rate every 100.
func writeRuns(home string, ids []string, points int) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = writeRun(home, id, i, points)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func writeRun(home, id string, i, points int) error {
	dir := layout.RunDir(home, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, layout.RunLogFile))
	if err != nil {
		return err
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	t := 1764201600.0 + float64(i)*3600
	enc := runfmt.NewEncoder(0, nil)
	if err := enc.Begin(runfmt.Header{Format: 1, ID: id, Name: fmt.Sprintf("lr-%d", i+1), Project: "chartbench", Time: t}); err != nil {
		return err
	}
	var ids [3]uint32
	for k, key := range []string{"train_loss", "val_loss", "learning_rate"} {
		if ids[k], err = enc.Key(key); err != nil {
			return err
		}
	}
	rate := 1 + 0.15*float64(i)
	for s := range points {
		t += 0.05 + 0.003*rng.NormFloat64()
		base := 1.6 + 2.4*math.Exp(-float64(s)*rate/float64(points)*8)
		keys, vals := []uint32{ids[0]}, []float64{float64(float32(base + 0.08*rng.NormFloat64()))}
		if s%1000 == 0 {
			keys, vals = append(keys, ids[1]), append(vals, base+0.03)
		}
		if s%100 == 0 {
			keys, vals = append(keys, ids[2]), append(vals, 3e-4*0.5*(1+math.Cos(math.Pi*float64(s)/float64(points))))
		}
		enc.Metrics(int64(s), math.Round(t*1e6)/1e6, keys, vals)
		if enc.Len() > 1<<20 {
			if _, err := f.Write(enc.Bytes()); err != nil {
				return err
			}
			enc.Take(enc.Bytes()) // written: empty the buffer, keep its storage
		}
	}
	if err := enc.JSON(runfmt.TypeStatus, runfmt.Status{Status: runfmt.StatusFinished, Time: t}); err != nil {
		return err
	}
	_, err = f.Write(enc.Bytes())
	return err
}
