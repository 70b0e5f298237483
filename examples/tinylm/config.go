package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
)

// Config holds every hyperparameter of a run. Its JSON form is the format of
// config.json, the target of -set key=value, and what is logged to runlog.
type Config struct {
	Seed       uint64 `json:"seed"`        // model initialization and batch sampling
	DataSeed   uint64 `json:"data_seed"`   // training stories; validation uses data_seed+1
	TrainChars int    `json:"train_chars"` // bytes of training text to generate
	ValChars   int    `json:"val_chars"`   // bytes of validation text to generate

	ContextLength int     `json:"context_length"`
	DModel        int     `json:"d_model"`
	NLayers       int     `json:"n_layers"`
	NHeads        int     `json:"n_heads"`
	DFF           int     `json:"d_ff"`
	InitStd       float64 `json:"init_std"`

	BatchSize   int     `json:"batch_size"`
	MaxSteps    int     `json:"max_steps"`
	LR          float64 `json:"lr"`
	MinLR       float64 `json:"min_lr"`
	WarmupSteps int     `json:"warmup_steps"`
	WeightDecay float64 `json:"weight_decay"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	GradClip    float64 `json:"grad_clip"` // global gradient-norm limit; 0 disables

	EvalInterval int `json:"eval_interval"` // steps between evaluations and checkpoints
	EvalBatches  int `json:"eval_batches"`  // fixed validation batches per evaluation
	SampleChars  int `json:"sample_chars"`  // characters to generate at each evaluation and after training; 0 for none
}

// DefaultConfig returns the configuration that config.json spells out.
func DefaultConfig() Config {
	return Config{
		Seed: 1, DataSeed: 42, TrainChars: 400_000, ValChars: 40_000,
		ContextLength: 64, DModel: 64, NLayers: 2, NHeads: 4, DFF: 128, InitStd: 0.02,
		BatchSize: 8, MaxSteps: 800, LR: 1e-2, MinLR: 1e-4, WarmupSteps: 50,
		WeightDecay: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, GradClip: 1.0,
		EvalInterval: 100, EvalBatches: 8, SampleChars: 200,
	}
}

// LoadConfig reads a JSON config file. Keys it leaves out keep their
// default values; keys the Config does not know are an error.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("load config: %w", err)
	}
	if err := cfg.UnmarshalStrict(data); err != nil {
		return cfg, fmt.Errorf("load config %s: %w", path, err)
	}
	return cfg, nil
}

// UnmarshalStrict decodes JSON into c, rejecting unknown keys.
func (c *Config) UnmarshalStrict(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(c)
}

// Set assigns the config key named by its JSON name, parsing value as the
// key's type. Integers also accept exact float spellings such as 1e4.
func (c *Config) Set(key, value string) error {
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		if jsonName(v.Type().Field(i)) != key {
			continue
		}
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			n, err := parseInt(value)
			if err != nil {
				return fmt.Errorf("set %s: %w", key, err)
			}
			f.SetInt(n)
		case reflect.Uint64:
			n, err := strconv.ParseUint(value, 10, 64)
			if err != nil {
				return fmt.Errorf("set %s: %w", key, err)
			}
			f.SetUint(n)
		case reflect.Float64:
			x, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return fmt.Errorf("set %s: %w", key, err)
			}
			f.SetFloat(x)
		case reflect.Bool:
			b, err := strconv.ParseBool(value)
			if err != nil {
				return fmt.Errorf("set %s: %w", key, err)
			}
			f.SetBool(b)
		case reflect.String:
			f.SetString(value)
		default:
			return fmt.Errorf("set %s: unsupported kind %s", key, f.Kind())
		}
		return nil
	}
	return fmt.Errorf("unknown config key %q", key)
}

func parseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return n, nil
	}
	x, ferr := strconv.ParseFloat(s, 64)
	if ferr != nil || x != math.Trunc(x) || math.Abs(x) > 1<<53 {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return int64(x), nil
}

// ApplySets applies "key=value" assignments in order.
func (c *Config) ApplySets(sets []string) error {
	for _, s := range sets {
		key, value, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("-set %q: want key=value", s)
		}
		if err := c.Set(strings.TrimSpace(key), strings.TrimSpace(value)); err != nil {
			return err
		}
	}
	return nil
}

// Validate reports every inconsistency in c.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.ContextLength > 0 && c.DModel > 0 && c.NLayers > 0 && c.NHeads > 0 && c.DFF > 0,
		"context_length, d_model, n_layers, n_heads and d_ff must be positive")
	check(c.NHeads > 0 && c.DModel%c.NHeads == 0, "d_model %d is not a multiple of n_heads %d", c.DModel, c.NHeads)
	check(c.BatchSize > 0 && c.MaxSteps > 0, "batch_size and max_steps must be positive")
	check(c.EvalInterval > 0 && c.EvalBatches > 0, "eval_interval and eval_batches must be positive")
	check(c.TrainChars > c.ContextLength+1 && c.ValChars > c.ContextLength+1, "train_chars and val_chars must exceed context_length+1")
	check(c.LR > 0 && c.MinLR >= 0 && c.MinLR <= c.LR, "want 0 <= min_lr <= lr and lr > 0")
	check(c.WarmupSteps >= 0 && c.WarmupSteps <= c.MaxSteps, "warmup_steps must be in [0, max_steps]")
	check(c.Beta1 >= 0 && c.Beta1 < 1 && c.Beta2 >= 0 && c.Beta2 < 1, "beta1 and beta2 must be in [0, 1)")
	check(c.Eps > 0 && c.InitStd > 0, "eps and init_std must be positive")
	check(c.WeightDecay >= 0 && c.GradClip >= 0 && c.SampleChars >= 0, "weight_decay, grad_clip and sample_chars must not be negative")
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	return nil
}

// marshal returns the config as JSON.
func (c *Config) marshal() ([]byte, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	return data, nil
}

// Map returns the config as the JSON-able map runlog records, keyed by
// JSON name, with each value of its Go type (integers stay integers).
func (c *Config) Map() map[string]any {
	m := map[string]any{}
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		m[jsonName(v.Type().Field(i))] = v.Field(i).Interface()
	}
	return m
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// ModelConfig returns the model shape for a vocabulary of the given size.
func (c *Config) ModelConfig(vocab int) ModelConfig {
	return ModelConfig{Vocab: vocab, Context: c.ContextLength, DModel: c.DModel, NLayers: c.NLayers, NHeads: c.NHeads, DFF: c.DFF}
}
