package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// A checkpoint file is little-endian binary:
//
//	magic    [8]byte "TINYLMCK"
//	version  uint32 (1)
//	config   uint32 length, then that many bytes of JSON
//	step     int64, updates completed
//	rng      uint32 length, then the batch sampler's marshaled PCG state
//	optstep  int64, AdamW's update count
//	nparams  uint32, then per parameter:
//	  name   uint16 length, then the name
//	  size   uint32 element count
//	  data, m, v  size float32 values each
//	crc      uint32, CRC-32 (IEEE) of everything before it
//
// Values are stored as float32 to keep files small; the model trains in
// float64, so a resumed run continues from a rounded copy of the state.

const (
	checkpointMagic   = "TINYLMCK"
	checkpointVersion = 1
)

// Checkpoint is everything needed to continue training.
type Checkpoint struct {
	Config  Config
	Step    int    // updates completed
	RNG     []byte // batch sampler state (rand.PCG.MarshalBinary)
	OptStep int64  // AdamW.Step
	Params  []ParamState
}

// ParamState is one parameter tensor and its AdamW moments.
type ParamState struct {
	Name string
	Data []float32
	M, V []float32
}

// checkpointName returns the file name of the checkpoint taken after step.
func checkpointName(step int) string { return fmt.Sprintf("step_%06d.ckpt", step) }

// WriteFile writes the checkpoint to path, through a temporary file renamed
// into place so that a crash never leaves a torn checkpoint behind.
func (c *Checkpoint) WriteFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ckpt-*")
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := c.encode(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

func (c *Checkpoint) encode(w io.Writer) error {
	crc := crc32.NewIEEE()
	bw := bufio.NewWriter(io.MultiWriter(w, crc))
	cfg, err := c.Config.marshal()
	if err != nil {
		return err
	}
	var errs []error
	put := func(v any) { errs = append(errs, binary.Write(bw, binary.LittleEndian, v)) }
	put([]byte(checkpointMagic))
	put(uint32(checkpointVersion))
	put(uint32(len(cfg)))
	put(cfg)
	put(int64(c.Step))
	put(uint32(len(c.RNG)))
	put(c.RNG)
	put(c.OptStep)
	put(uint32(len(c.Params)))
	for _, p := range c.Params {
		if len(p.M) != len(p.Data) || len(p.V) != len(p.Data) {
			return fmt.Errorf("param %s: moments do not match its size", p.Name)
		}
		put(uint16(len(p.Name)))
		put([]byte(p.Name))
		put(uint32(len(p.Data)))
		put(p.Data)
		put(p.M)
		put(p.V)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return binary.Write(w, binary.LittleEndian, crc.Sum32())
}

// ReadCheckpoint reads and verifies a checkpoint file.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	c, err := decodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	return c, nil
}

func decodeCheckpoint(data []byte) (*Checkpoint, error) {
	if len(data) < len(checkpointMagic)+4 || string(data[:len(checkpointMagic)]) != checkpointMagic {
		return nil, errors.New("not a tinylm checkpoint")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, errors.New("checksum mismatch: file is corrupt")
	}
	r := bytes.NewReader(body[len(checkpointMagic):])
	var err error
	get := func(v any) {
		if err == nil {
			err = binary.Read(r, binary.LittleEndian, v)
		}
	}
	getBytes := func(n int) []byte {
		if err != nil {
			return nil
		}
		if n > r.Len() {
			err = io.ErrUnexpectedEOF
			return nil
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return b
	}
	getFloats := func(n int) []float32 {
		if err != nil {
			return nil
		}
		if 4*n > r.Len() {
			err = io.ErrUnexpectedEOF
			return nil
		}
		f := make([]float32, n)
		get(f)
		return f
	}

	var version, n32 uint32
	get(&version)
	if err == nil && version != checkpointVersion {
		return nil, fmt.Errorf("unsupported checkpoint version %d", version)
	}
	c := &Checkpoint{}
	get(&n32)
	cfg := getBytes(int(n32))
	if err == nil {
		c.Config = DefaultConfig()
		if err := c.Config.UnmarshalStrict(cfg); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	var step int64
	get(&step)
	c.Step = int(step)
	get(&n32)
	c.RNG = getBytes(int(n32))
	get(&c.OptStep)
	var nparams uint32
	get(&nparams)
	for i := uint32(0); err == nil && i < nparams; i++ {
		var nameLen uint16
		get(&nameLen)
		p := ParamState{Name: string(getBytes(int(nameLen)))}
		get(&n32)
		p.Data, p.M, p.V = getFloats(int(n32)), getFloats(int(n32)), getFloats(int(n32))
		c.Params = append(c.Params, p)
	}
	if err != nil {
		return nil, fmt.Errorf("truncated or malformed: %w", err)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d unexpected trailing bytes", r.Len())
	}
	return c, nil
}

// LatestCheckpoint returns the path of the checkpoint with the highest step
// in dir, or an error wrapping os.ErrNotExist when there is none.
func LatestCheckpoint(dir string) (string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "step_*.ckpt"))
	if err != nil {
		return "", fmt.Errorf("find checkpoints: %w", err)
	}
	if len(paths) == 0 {
		return "", fmt.Errorf("no checkpoints in %s: %w", dir, os.ErrNotExist)
	}
	best, bestStep := "", -1
	for _, p := range paths {
		var step int
		if _, err := fmt.Sscanf(filepath.Base(p), "step_%d.ckpt", &step); err == nil && step > bestStep {
			best, bestStep = p, step
		}
	}
	if best == "" {
		return "", fmt.Errorf("no checkpoints in %s: %w", dir, os.ErrNotExist)
	}
	return best, nil
}
