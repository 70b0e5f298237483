package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConfigSet(t *testing.T) {
	tests := []struct {
		set     string
		check   func(Config) bool
		wantErr string
	}{
		{set: "lr=3e-3", check: func(c Config) bool { return c.LR == 3e-3 }},
		{set: "max_steps=120", check: func(c Config) bool { return c.MaxSteps == 120 }},
		{set: "max_steps=1e3", check: func(c Config) bool { return c.MaxSteps == 1000 }},
		{set: "seed=9", check: func(c Config) bool { return c.Seed == 9 }},
		{set: " d_model = 32 ", check: func(c Config) bool { return c.DModel == 32 }},
		{set: "max_steps=1.5", wantErr: "max_steps"},
		{set: "lr=fast", wantErr: "lr"},
		{set: "seed=-1", wantErr: "seed"},
		{set: "learning_rate=1", wantErr: `unknown config key "learning_rate"`},
		{set: "lr", wantErr: "want key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			cfg := DefaultConfig()
			err := cfg.ApplySets([]string{tt.set})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Errorf("config after -set %s: %+v", tt.set, cfg)
			}
		})
	}
}

// TestCommittedConfig checks that config.json spells out every key, agrees
// with DefaultConfig and is valid.
func TestCommittedConfig(t *testing.T) {
	cfg, err := LoadConfig("config.json")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != DefaultConfig() {
		t.Errorf("config.json = %+v\nDefaultConfig = %+v", cfg, DefaultConfig())
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
	data, err := os.ReadFile("config.json")
	if err != nil {
		t.Fatal(err)
	}
	for key := range cfg.Map() {
		if !strings.Contains(string(data), `"`+key+`"`) {
			t.Errorf("config.json does not spell out %q", key)
		}
	}
}

func TestLoadConfigRejectsUnknownKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(path, []byte(`{"lr": 0.01, "dropout": 0.1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "dropout") {
		t.Errorf("error = %v, want one naming dropout", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		set  string
		want string
	}{
		{"n_heads=3", "multiple of n_heads"},
		{"warmup_steps=100000", "warmup_steps"},
		{"min_lr=1", "min_lr"},
		{"beta2=1", "beta2"},
		{"val_chars=10", "val_chars"},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			cfg := DefaultConfig()
			if err := cfg.ApplySets([]string{tt.set}); err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestConfigMap(t *testing.T) {
	cfg := DefaultConfig()
	m := cfg.Map()
	if n := reflect.TypeOf(cfg).NumField(); len(m) != n {
		t.Errorf("Map has %d keys, Config has %d fields", len(m), n)
	}
	if m["lr"] != cfg.LR || m["d_model"] != cfg.DModel || m["grad_clip"] != cfg.GradClip || m["seed"] != cfg.Seed {
		t.Errorf("Map() = %v", m)
	}
}
