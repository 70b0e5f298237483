package sweep

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
)

// Macros are the ${…} words a command may hold: W&B's, and runlog's
// ${config}.
var Macros = []string{
	"${env}", "${interpreter}", "${program}", "${args}", "${args_no_hyphens}",
	"${args_no_boolean_flags}", "${args_json}", "${args_json_file}", "${config}",
}

// listMacros stand for several words, so they must be a whole word.
var listMacros = []string{"${args}", "${args_no_hyphens}", "${args_no_boolean_flags}"}

var macroRE = regexp.MustCompile(`\$\{[^}]*\}`)

func checkMacros(word string) error {
	for _, m := range macroRE.FindAllString(word, -1) {
		known := false
		for _, k := range Macros {
			known = known || k == m
		}
		if !known {
			return fmt.Errorf("unknown macro %s (known: %s)", m, strings.Join(Macros, " "))
		}
		for _, l := range listMacros {
			if m == l && word != m {
				return fmt.Errorf("%s stands for several words: it must be a word of its own, not part of %q", m, word)
			}
		}
	}
	return nil
}

// Files are the paths of files a member's command may name.
type Files struct {
	ArgsJSON string // ${args_json_file}
	Config   string // ${config}
}

// Command returns a member's command line: the template with its macros
// replaced. ${env} is /usr/bin/env; ${interpreter} is python3 (python if
// there is none) for a program ending in .py and nothing otherwise.
func Command(template []string, program string, m *Member, f Files) []string {
	var out []string
	for _, w := range template {
		switch w {
		case "${env}":
			out = append(out, "/usr/bin/env")
			continue
		case "${interpreter}":
			if strings.HasSuffix(program, ".py") {
				out = append(out, interpreter())
			}
			continue
		case "${args}", "${args_no_hyphens}", "${args_no_boolean_flags}":
			for _, a := range m.Args {
				v := argText(a.Value)
				switch {
				case w == "${args_no_hyphens}":
					out = append(out, a.Key+"="+v)
				case w == "${args_no_boolean_flags}" && a.Value.V == true:
					out = append(out, "--"+a.Key)
				case w == "${args_no_boolean_flags}" && a.Value.V == false:
				default:
					out = append(out, "--"+a.Key+"="+v)
				}
			}
			continue
		}
		w = strings.ReplaceAll(w, "${program}", program)
		w = strings.ReplaceAll(w, "${args_json_file}", f.ArgsJSON)
		w = strings.ReplaceAll(w, "${config}", f.Config)
		if strings.Contains(w, "${args_json}") {
			w = strings.ReplaceAll(w, "${args_json}", string(ArgsJSON(m)))
		}
		out = append(out, w)
	}
	return out
}

// Uses reports whether a command template holds a macro.
func Uses(template []string, macro string) bool {
	for _, w := range template {
		if strings.Contains(w, macro) {
			return true
		}
	}
	return false
}

// ArgsJSON is a member's arguments as one flat JSON object, by dotted key.
func ArgsJSON(m *Member) []byte {
	obj := make(map[string]any, len(m.Args))
	for _, a := range m.Args {
		obj[a.Key] = a.Value.V
	}
	b, _ := json.Marshal(obj)
	return b
}

// ProgramConfig is a member's config without the sweep key, for ${config}:
// programs that refuse keys they do not know still take it.
func ProgramConfig(m *Member) []byte {
	cfg := make(map[string]any, len(m.Config))
	for k, v := range m.Config {
		if k != "sweep" {
			cfg[k] = v
		}
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return append(b, '\n')
}

// argText writes a value as a command-line word: as the file spells it,
// else as compact JSON (strings bare).
func argText(v Value) string {
	if v.Text != "" {
		return v.Text
	}
	return compact(v.V)
}

// interpreter is looked up once: every member of a sweep gets the same.
var interpreter = sync.OnceValue(func() string {
	if _, err := exec.LookPath("python3"); err == nil {
		return "python3"
	}
	return "python"
})
