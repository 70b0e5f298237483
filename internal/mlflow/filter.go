package mlflow

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MLflow's search syntax: a filter is comparisons joined by AND, such as
//
//	metrics.val_loss < 2.5 AND params.optimizer = 'adam' AND tags.`team name` LIKE 'nlp%'
//
// An identifier is an entity — metrics, params, tags or attributes (also
// written metric, param, parameter, parameters, tag, attribute, attr, run)
// — a dot and a key, which may be quoted with backticks or double quotes;
// a bare key is an attribute. Metrics compare the latest value as a number
// with =, !=, <, <=, > and >=; params, tags and string attributes compare
// strings with =, !=, LIKE, ILIKE (case-insensitive), IN (…) and NOT IN
// (…), and IS NULL or IS NOT NULL; start_time and end_time are numbers.
// A run without the key matches no comparison, as in MLflow.

// entity kinds of an identifier.
const (
	entityMetric    = "metrics"
	entityParam     = "params"
	entityTag       = "tags"
	entityAttribute = "attributes"
)

var entityNames = map[string]string{
	"metric": entityMetric, "metrics": entityMetric,
	"param": entityParam, "params": entityParam, "parameter": entityParam, "parameters": entityParam,
	"tag": entityTag, "tags": entityTag,
	"attribute": entityAttribute, "attributes": entityAttribute, "attr": entityAttribute, "run": entityAttribute,
}

// ident names what a comparison or an ordering reads.
type ident struct {
	entity string
	key    string
}

func (id ident) String() string { return id.entity + "." + id.key }

// clause is one comparison of a filter.
type clause struct {
	ident
	op    string // =, !=, <, <=, >, >=, LIKE, ILIKE, NOT LIKE, NOT ILIKE, IN, NOT IN, IS NULL, IS NOT NULL
	num   float64
	str   string
	list  []string
	isNum bool
}

// token is a lexical token of the search syntax.
type token struct {
	kind byte // 'w' word, 's' string, 'o' operator or punctuation
	text string
	pos  int
}

// lex splits a filter or an order_by clause into tokens.
func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"' || c == '`':
			var b strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c { // a doubled quote stands for itself
						b.WriteByte(c)
						j++
						continue
					}
					break
				}
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == c || s[j+1] == '\\') {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated quote at position %d", i)
			}
			kind := byte('s')
			if c != '\'' {
				kind = 'q' // a quoted identifier or, after an operator, a string
			}
			out = append(out, token{kind, b.String(), i})
			i = j + 1
		case strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], ">=") || strings.HasPrefix(s[i:], "<>"):
			op := s[i : i+2]
			if op == "<>" {
				op = "!="
			}
			out = append(out, token{'o', op, i})
			i += 2
		case strings.ContainsRune("=<>(),", rune(c)):
			out = append(out, token{'o', string(c), i})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r=!<>(),'\"`", rune(s[j])) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected %q at position %d", c, i)
			}
			out = append(out, token{'w', s[i:j], i})
			i = j
		}
	}
	return out, nil
}

// parser reads tokens.
type parser struct {
	toks []token
	i    int
	src  string
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *parser) next() (token, bool) {
	t, ok := p.peek()
	if ok {
		p.i++
	}
	return t, ok
}

// keyword reports whether the next token is the word w (any case), and
// consumes it if so.
func (p *parser) keyword(w string) bool {
	if t, ok := p.peek(); ok && t.kind == 'w' && strings.EqualFold(t.text, w) {
		p.i++
		return true
	}
	return false
}

// ident reads an identifier: entity.key, entity.`key`, or a bare
// attribute.
func (p *parser) ident() (ident, error) {
	t, ok := p.next()
	if !ok {
		return ident{}, fmt.Errorf("expected an identifier at the end")
	}
	if t.kind == 'q' { // "metrics.loss" quoted whole? MLflow reads it as an attribute name
		return attributeIdent(t.text)
	}
	if t.kind != 'w' {
		return ident{}, fmt.Errorf("expected an identifier at position %d, found %q", t.pos, t.text)
	}
	prefix, key, dotted := strings.Cut(t.text, ".")
	if !dotted {
		return attributeIdent(t.text)
	}
	entity, ok := entityNames[strings.ToLower(prefix)]
	if !ok {
		return ident{}, fmt.Errorf("invalid entity type %q at position %d: use metrics., params., tags. or attributes.", prefix, t.pos)
	}
	if key == "" { // metrics.`some key`
		q, ok := p.next()
		if !ok || (q.kind != 'q' && q.kind != 's') || q.pos != t.pos+len(t.text) {
			return ident{}, fmt.Errorf("expected a key after %q at position %d", t.text, t.pos)
		}
		key = q.text
	}
	if entity == entityAttribute {
		return attributeIdent(key)
	}
	return ident{entity, key}, nil
}

// Attributes of runs that a filter or an ordering may name, by their
// names and aliases.
var attributeNames = map[string]string{
	"run_id": "run_id", "run_uuid": "run_id", "id": "run_id",
	"run_name": "run_name", "name": "run_name", "run name": "run_name",
	"status": "status", "user_id": "user_id", "user": "user_id",
	"artifact_uri": "artifact_uri", "lifecycle_stage": "lifecycle_stage",
	"start_time": "start_time", "created": "start_time", "end_time": "end_time",
	"experiment_id": "experiment_id",
	"creation_time": "creation_time", "last_update_time": "last_update_time",
}

// numericAttributes are compared as numbers.
var numericAttributes = map[string]bool{"start_time": true, "end_time": true, "creation_time": true, "last_update_time": true}

func attributeIdent(key string) (ident, error) {
	a, ok := attributeNames[strings.ToLower(key)]
	if !ok {
		return ident{}, fmt.Errorf("invalid attribute key %q: use run_id, run_name, status, user_id, artifact_uri, start_time or end_time", key)
	}
	return ident{entityAttribute, a}, nil
}

func (id ident) numeric() bool {
	return id.entity == entityMetric || (id.entity == entityAttribute && numericAttributes[id.key])
}

// parseFilter parses a search filter; an empty one matches everything.
func parseFilter(s string) ([]clause, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	toks, err := lex(s)
	if err != nil {
		return nil, invalidf("Error on parsing filter '%s': %v", s, err)
	}
	p := &parser{toks: toks, src: s}
	var out []clause
	for {
		c, err := p.clause()
		if err != nil {
			return nil, invalidf("Error on parsing filter '%s': %v", s, err)
		}
		out = append(out, c)
		if _, ok := p.peek(); !ok {
			return out, nil
		}
		if !p.keyword("AND") {
			t, _ := p.peek()
			if strings.EqualFold(t.text, "OR") {
				return nil, invalidf("Invalid filter '%s': only AND is supported between comparisons, as in MLflow", s)
			}
			return nil, invalidf("Error on parsing filter '%s': expected AND at position %d, found %q", s, t.pos, t.text)
		}
	}
}

func (p *parser) clause() (clause, error) {
	id, err := p.ident()
	if err != nil {
		return clause{}, err
	}
	c := clause{ident: id}
	t, ok := p.next()
	if !ok {
		return c, fmt.Errorf("expected a comparison after %s", id)
	}
	switch {
	case t.kind == 'o' && strings.Contains("= != < <= > >=", t.text) && t.text != "(" && t.text != ")" && t.text != ",":
		c.op = t.text
	case t.kind == 'w':
		switch w := strings.ToUpper(t.text); w {
		case "LIKE", "ILIKE", "IN":
			c.op = w
		case "NOT":
			n, _ := p.next()
			switch nw := strings.ToUpper(n.text); nw {
			case "LIKE", "ILIKE", "IN":
				c.op = "NOT " + nw
			default:
				return c, fmt.Errorf("expected LIKE, ILIKE or IN after NOT at position %d", n.pos)
			}
		case "IS":
			if p.keyword("NOT") {
				c.op = "IS NOT NULL"
			} else {
				c.op = "IS NULL"
			}
			if !p.keyword("NULL") {
				return c, fmt.Errorf("expected NULL after IS at position %d", t.pos)
			}
			return c, c.check()
		}
	}
	if c.op == "" {
		return c, fmt.Errorf("invalid comparator %q at position %d", t.text, t.pos)
	}
	if c.op == "IN" || c.op == "NOT IN" {
		if err := p.list(&c); err != nil {
			return c, err
		}
		return c, c.check()
	}
	v, ok := p.next()
	if !ok {
		return c, fmt.Errorf("expected a value after %s %s", id, c.op)
	}
	switch v.kind {
	case 's', 'q':
		c.str = v.text
	case 'w':
		f, err := strconv.ParseFloat(v.text, 64)
		if err != nil {
			return c, fmt.Errorf("expected a number or a quoted string at position %d, found %q", v.pos, v.text)
		}
		c.num, c.isNum, c.str = f, true, v.text
	default:
		return c, fmt.Errorf("expected a value at position %d, found %q", v.pos, v.text)
	}
	return c, c.check()
}

func (p *parser) list(c *clause) error {
	if t, ok := p.next(); !ok || t.text != "(" {
		return fmt.Errorf("expected ( after %s", c.op)
	}
	for {
		v, ok := p.next()
		if !ok || (v.kind != 's' && v.kind != 'q' && v.kind != 'w') {
			return fmt.Errorf("expected a value in the list of %s", c.op)
		}
		c.list = append(c.list, v.text)
		t, ok := p.next()
		if !ok {
			return fmt.Errorf("expected ) to close the list of %s", c.op)
		}
		if t.text == ")" {
			return nil
		}
		if t.text != "," {
			return fmt.Errorf("expected , or ) at position %d", t.pos)
		}
	}
}

// check refuses comparisons MLflow refuses: numbers for metrics and time
// attributes, strings for the rest.
func (c *clause) check() error {
	switch c.op {
	case "IS NULL", "IS NOT NULL":
		if c.entity == entityMetric {
			return fmt.Errorf("%s is not supported for metrics", c.op)
		}
		return nil
	}
	if c.numeric() {
		if !strings.Contains("= != < <= > >=", c.op) || strings.HasPrefix(c.op, "IN") || c.op == "NOT IN" {
			return fmt.Errorf("invalid comparator %q for %s: use =, !=, <, <=, > or >=", c.op, c.ident)
		}
		if !c.isNum {
			return fmt.Errorf("expected a number for %s, found '%s'", c.ident, c.str)
		}
		return nil
	}
	switch c.op {
	case "=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN":
	default:
		return fmt.Errorf("invalid comparator %q for %s: use =, !=, LIKE, ILIKE, IN or NOT IN", c.op, c.ident)
	}
	if c.isNum {
		return fmt.Errorf("expected a quoted string for %s, found %s", c.ident, c.str)
	}
	return nil
}

// matchNumber reports whether value v satisfies a numeric clause. NaN
// satisfies only !=.
func (c *clause) matchNumber(v float64) bool {
	switch c.op {
	case "=":
		return v == c.num
	case "!=":
		return v != c.num
	case "<":
		return v < c.num
	case "<=":
		return v <= c.num
	case ">":
		return v > c.num
	case ">=":
		return v >= c.num
	}
	return false
}

// matchString reports whether s satisfies a string clause.
func (c *clause) matchString(s string) bool {
	switch c.op {
	case "=":
		return s == c.str
	case "!=":
		return s != c.str
	case "LIKE":
		return like(s, c.str, false)
	case "ILIKE":
		return like(s, c.str, true)
	case "NOT LIKE":
		return !like(s, c.str, false)
	case "NOT ILIKE":
		return !like(s, c.str, true)
	case "IN":
		for _, x := range c.list {
			if s == x {
				return true
			}
		}
	case "NOT IN":
		for _, x := range c.list {
			if s == x {
				return false
			}
		}
		return true
	}
	return false
}

// like matches s against an SQL LIKE pattern: % is any run of characters,
// _ any one character.
func like(s, pattern string, fold bool) bool {
	if fold {
		s, pattern = strings.ToLower(s), strings.ToLower(pattern)
	}
	sr, pr := []rune(s), []rune(pattern)
	// Classic wildcard matching with backtracking to the last %.
	i, j, star, mark := 0, 0, -1, 0
	for i < len(sr) {
		switch {
		case j < len(pr) && (pr[j] == '_' || pr[j] == sr[i]) && pr[j] != '%':
			i++
			j++
		case j < len(pr) && pr[j] == '%':
			star, mark = j, i
			j++
		case star >= 0:
			j = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for j < len(pr) && pr[j] == '%' {
		j++
	}
	return j == len(pr)
}

// order is one key of an order_by.
type order struct {
	ident
	desc bool
}

// parseOrder parses order_by clauses such as "metrics.loss DESC".
func parseOrder(clauses []string) ([]order, error) {
	var out []order
	for _, s := range clauses {
		toks, err := lex(s)
		if err != nil {
			return nil, invalidf("Invalid order_by clause '%s': %v", s, err)
		}
		p := &parser{toks: toks, src: s}
		id, err := p.ident()
		if err != nil {
			return nil, invalidf("Invalid order_by clause '%s': %v", s, err)
		}
		o := order{ident: id}
		switch {
		case p.keyword("DESC"):
			o.desc = true
		case p.keyword("ASC"):
		}
		if t, ok := p.peek(); ok {
			return nil, invalidf("Invalid order_by clause '%s': unexpected %q", s, t.text)
		}
		out = append(out, o)
	}
	return out, nil
}

// sortValue is a value runs are ordered by: a number, a string, or none.
// Runs without the value come last, and NaN after every number, as in
// MLflow.
type sortValue struct {
	rank int // 0 a value, 1 NaN, 2 none
	num  float64
	str  string
}

func numberValue(v float64) sortValue {
	if math.IsNaN(v) {
		return sortValue{rank: 1}
	}
	return sortValue{num: v}
}

// compare orders a before b (negative), after (positive) or the same, for
// an ordering ascending or not.
func (a sortValue) compare(b sortValue, desc bool) int {
	if a.rank != b.rank {
		return a.rank - b.rank
	}
	if a.rank != 0 {
		return 0
	}
	c := 0
	switch {
	case a.num < b.num:
		c = -1
	case a.num > b.num:
		c = 1
	default:
		c = strings.Compare(a.str, b.str)
	}
	if desc {
		c = -c
	}
	return c
}
