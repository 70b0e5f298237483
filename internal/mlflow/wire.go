package mlflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
)

// The JSON of MLflow's protos, as the Python client sends it: int64 fields
// arrive as numbers or as strings, doubles as numbers, as numeric strings
// or as "NaN", "Infinity" and "-Infinity", and enums by name or number.

// valueError is the error of a field whose value is not of its type; raw
// is the value as the request has it.
type valueError struct {
	msg string
	raw []byte
}

func (e *valueError) Error() string { return e.msg }

// jsonInt is an int64 field; set records whether the request had it.
type jsonInt struct {
	v   int64
	set bool
}

func (n *jsonInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := unquote(b)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64) // 1.7e12 from clients that send floats
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return &valueError{fmt.Sprintf("%s is not an integer", b), bytes.Clone(b)}
		}
		v = int64(f)
	}
	*n = jsonInt{v, true}
	return nil
}

// jsonFloat is a double field; set records whether the request had it.
type jsonFloat struct {
	v   float64
	set bool
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := unquote(b)
	var v float64
	switch s {
	case "NaN", "nan":
		v = math.NaN()
	case "Infinity", "inf", "+Infinity":
		v = math.Inf(1)
	case "-Infinity", "-inf":
		v = math.Inf(-1)
	default:
		var err error
		if v, err = strconv.ParseFloat(s, 64); err != nil {
			return &valueError{fmt.Sprintf("%s is not a number", b), bytes.Clone(b)}
		}
	}
	*f = jsonFloat{v, true}
	return nil
}

func unquote(b []byte) string {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return string(b[1 : len(b)-1])
	}
	return string(b)
}

// appendFloat appends v as proto JSON writes a double: a number, or one of
// the strings for non-finite values.
func appendFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(dst, `"-Infinity"`...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// number is a double in a response.
type number float64

func (n number) MarshalJSON() ([]byte, error) { return appendFloat(nil, float64(n)), nil }

// Enums: run statuses and view types, by name or by their proto number.
var (
	runStatusNames = map[string]string{"1": "RUNNING", "2": "SCHEDULED", "3": "FINISHED", "4": "FAILED", "5": "KILLED"}
	viewTypeNames  = map[string]string{"1": "ACTIVE_ONLY", "2": "DELETED_ONLY", "3": "ALL"}
)

// enum is an enum field, kept by name.
type enum string

func (e *enum) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	*e = enum(unquote(b))
	return nil
}

func (e enum) name(names map[string]string) string {
	if n, ok := names[string(e)]; ok {
		return n
	}
	return string(e)
}

// Messages shared by several requests and responses.

type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type metricMsg struct {
	Key       string    `json:"key"`
	Value     jsonFloat `json:"value"`
	Timestamp jsonInt   `json:"timestamp"`
	Step      jsonInt   `json:"step"`
}

// metricOut is a metric in a response.
type metricOut struct {
	Key       string `json:"key"`
	Value     number `json:"value"`
	Timestamp int64  `json:"timestamp"`
	Step      int64  `json:"step"`
}

type runInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type runData struct {
	Metrics []metricOut `json:"metrics"`
	Params  []keyValue  `json:"params"`
	Tags    []keyValue  `json:"tags"`
}

type runOut struct {
	Info    runInfo        `json:"info"`
	Data    runData        `json:"data"`
	Inputs  map[string]any `json:"inputs"`
	Outputs map[string]any `json:"outputs"`
}

type experimentOut struct {
	ExperimentID     string     `json:"experiment_id"`
	Name             string     `json:"name"`
	ArtifactLocation string     `json:"artifact_location"`
	LifecycleStage   string     `json:"lifecycle_stage"`
	CreationTime     int64      `json:"creation_time"`
	LastUpdateTime   int64      `json:"last_update_time"`
	Tags             []keyValue `json:"tags"`
}

// queryJSON turns the query of a GET into the JSON object the same request
// would have as a POST body: a repeated parameter becomes an array, every
// value a string (the field types above accept numbers given as strings).
func queryJSON(q url.Values) []byte {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	for k, vs := range q {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		if len(vs) == 1 && !repeated[k] {
			vb, _ := json.Marshal(vs[0])
			buf.Write(vb)
			continue
		}
		vb, _ := json.Marshal(vs)
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// repeated names the query parameters of GET requests that are lists.
var repeated = map[string]bool{"experiment_ids": true, "order_by": true, "run_ids": true}
