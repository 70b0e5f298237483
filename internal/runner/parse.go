package runner

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Metrics in output. A program that uses no runlog client can still be
// tracked from what it prints. A line is read as metrics when it is
//
//   - a JSON object: {"step": 100, "loss": 2.31, "lr": 0.0003}. Numbers (and
//     "NaN", "Infinity", "-Infinity") become metrics, nested objects are
//     flattened with "/", other values are ignored; the step is the field
//     step, global_step, iter or iteration, else the last step seen;
//   - key=value or key: value pairs with a step among them:
//     "step=100 loss=2.31 lr=3e-4", "iter: 100, loss: 2.31". "step 100" and
//     "step 100/5000" also name the step. Values are numbers, nan or inf.
//
// Lines without a step and other text are left alone.

// stepKeys name the step in output lines, in order of preference.
var stepKeys = []string{"step", "global_step", "iter", "iteration", "it"}

var (
	pairRE     = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_./-]*)\s*[=:]\s*([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?))\b`)
	bareStepRE = regexp.MustCompile(`(?i)\b(?:step|iter|iteration)\s+([0-9]+)(?:\s*/\s*[0-9]+)?\b`)
)

// parseLine returns the step and metrics a line of output holds; ok is
// false when it holds none. hasStep is false for a JSON line without a
// step, which then belongs to the last step seen.
func parseLine(line string) (step int64, hasStep bool, values map[string]float64, ok bool) {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "{") && strings.HasSuffix(line, "}") {
		return parseJSONLine(line)
	}
	if !strings.ContainsAny(line, "=:") {
		return 0, false, nil, false
	}
	values = map[string]float64{}
	for _, m := range pairRE.FindAllStringSubmatch(line, -1) {
		v, err := parseNumber(m[2])
		if err != nil {
			continue
		}
		values[m[1]] = v
	}
	step, hasStep = takeStep(values)
	if !hasStep {
		if m := bareStepRE.FindStringSubmatch(line); m != nil {
			step, _ = strconv.ParseInt(m[1], 10, 64)
			hasStep = true
		}
	}
	if !hasStep || len(values) == 0 {
		return 0, false, nil, false
	}
	return step, true, values, true
}

func parseJSONLine(line string) (int64, bool, map[string]float64, bool) {
	var obj map[string]any
	if json.Unmarshal([]byte(line), &obj) != nil {
		return 0, false, nil, false
	}
	values := map[string]float64{}
	flattenNumbers("", obj, values)
	step, hasStep := takeStep(values)
	if len(values) == 0 {
		return 0, false, nil, false
	}
	return step, hasStep, values, true
}

// takeStep removes the step from values and returns it.
func takeStep(values map[string]float64) (int64, bool) {
	for _, k := range stepKeys {
		if v, ok := values[k]; ok && v >= 0 && v == math.Trunc(v) && v < 1<<53 {
			for _, k := range stepKeys {
				delete(values, k)
			}
			return int64(v), true
		}
	}
	return 0, false
}

func flattenNumbers(prefix string, v any, out map[string]float64) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if prefix != "" {
				k = prefix + "/" + k
			}
			flattenNumbers(k, e, out)
		}
	case float64:
		out[prefix] = x
	case string:
		if f, err := parseNumber(x); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			out[prefix] = f
		}
	}
}

func parseNumber(s string) (float64, error) {
	switch strings.ToLower(strings.TrimPrefix(s, "+")) {
	case "nan":
		return math.NaN(), nil
	case "inf", "infinity":
		return math.Inf(1), nil
	case "-inf", "-infinity":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, 64)
}
