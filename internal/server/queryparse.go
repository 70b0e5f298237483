package server

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// The query syntax (docs/server.md), loosest first:
//
//	query     = conjunct { "or" conjunct }
//	conjunct  = unary { ["and"] unary }        juxtaposed conditions are and-ed
//	unary     = "not" unary | primary
//	primary   = "(" query ")" | condition | word
//	condition = field op value
//	          | field ["not"] "in" "(" value { "," value } ")"
//	op        = "=" | "!=" | "<" | "<=" | ">" | ">=" | "~"
//
// and binds tighter than or; and, or, not and in are keywords in any case
// unless quoted. Stray ands (`a and and b`, a trailing and) are skipped,
// as they always were. A word or value is a run of characters up to a
// space, a quote, an operator character or a parenthesis — and, inside an
// in list only, a comma — or a quoted string without its own quote.

// maxQueryDepth bounds the nesting of parentheses and nots, so that a
// query of a million "(" costs no million-deep recursion.
const maxQueryDepth = 64

// parseQuery reads a query; the empty query matches every run. What it
// refuses is a 400 that says where and what was expected.
func parseQuery(s string) (query, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) { // only a ) stops or() early
		return nil, badRequest("q: at position %d: a ) with no ( before it", p.tok().pos)
	}
	return q, nil
}

type token struct {
	text   string
	pos    int    // 1-based, in characters
	op     string // the operator, if the token is one
	punct  byte   // '(', ')' or ',', if the token is one
	quoted bool
}

// is reports whether t is the keyword kw: unquoted, in any case.
func (t token) is(kw string) bool {
	return t.op == "" && t.punct == 0 && !t.quoted && strings.EqualFold(t.text, kw)
}

// word reports whether t can be a field, a value or a bare word.
func (t token) word() bool { return t.op == "" && t.punct == 0 }

func (t token) String() string {
	if t.quoted {
		return "quoted text " + quoteQueryText(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

type parser struct {
	toks  []token
	i     int
	depth int
}

// tok is the next token; past the end, a token at position 0.
func (p *parser) tok() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{}
}

func (p *parser) peek(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return token{}
}

func (p *parser) atEnd() bool { return p.i >= len(p.toks) }

// fail says what was expected at t, or at the end of the query.
func (p *parser) fail(t token, expected string, args ...any) error {
	what := fmt.Sprintf(expected, args...)
	if t.pos == 0 {
		return badRequest("q: at the end: expected %s", what)
	}
	return badRequest("q: at position %d: expected %s, found %s", t.pos, what, t)
}

func (p *parser) or() (query, error) {
	var qs anyOf
	for {
		q, err := p.and()
		if err != nil {
			return nil, err
		}
		if c, ok := q.(allOf); ok && len(c) == 0 {
			// Nothing at all (or only ands) is the empty query, at the
			// top; anywhere else a condition is missing.
			if len(qs) == 0 && p.depth == 0 && p.atEnd() {
				return q, nil
			}
			return nil, p.fail(p.tok(), "a condition")
		}
		if a, ok := q.(anyOf); ok {
			qs = append(qs, a...)
		} else {
			qs = append(qs, q)
		}
		if !p.tok().is("or") {
			break
		}
		p.i++
	}
	if len(qs) == 1 {
		return qs[0], nil
	}
	return qs, nil
}

func (p *parser) and() (query, error) {
	qs := allOf{}
	for {
		for p.tok().is("and") {
			p.i++
		}
		t := p.tok()
		if p.atEnd() || t.punct == ')' || t.is("or") {
			break
		}
		q, err := p.unary()
		if err != nil {
			return nil, err
		}
		if a, ok := q.(allOf); ok {
			qs = append(qs, a...)
		} else {
			qs = append(qs, q)
		}
	}
	if len(qs) == 1 {
		return qs[0], nil
	}
	return qs, nil
}

func (p *parser) unary() (query, error) {
	if !p.tok().is("not") {
		return p.primary()
	}
	if err := p.deeper(); err != nil {
		return nil, err
	}
	p.i++
	q, err := p.unary()
	p.depth--
	if err != nil {
		return nil, err
	}
	return not{q}, nil
}

func (p *parser) deeper() error {
	p.depth++
	if p.depth > maxQueryDepth {
		return badRequest("q: at position %d: nested more than %d deep", p.tok().pos, maxQueryDepth)
	}
	return nil
}

func (p *parser) primary() (query, error) {
	t := p.tok()
	switch {
	case p.atEnd():
		return nil, p.fail(t, "a condition")
	case t.punct == '(':
		if err := p.deeper(); err != nil {
			return nil, err
		}
		p.i++
		q, err := p.or()
		p.depth--
		if err != nil {
			return nil, err
		}
		if p.tok().punct != ')' {
			return nil, p.fail(p.tok(), "a ) to close the ( at position %d", t.pos)
		}
		p.i++
		return q, nil
	case t.op != "":
		return nil, badRequest("q: at position %d: %q must follow a field name, as in config.lr %s 1e-3", t.pos, t.op, t.op)
	case t.punct != 0, t.is("or"):
		return nil, p.fail(t, "a condition (quote a word to look for it)")
	}
	next := p.peek(1)
	switch {
	case next.op != "":
		return p.condition()
	case next.is("in"), next.is("not") && p.peek(2).is("in"):
		return p.in()
	}
	p.i++
	return condition{op: "~", value: value{s: t.text}}, nil
}

// field reads the field of a condition.
func (p *parser) field() (string, error) {
	t := p.tok()
	if t.quoted {
		return "", badRequest("q: at position %d: a field name cannot be quoted: %s", t.pos, t)
	}
	if err := checkField(t.text); err != nil {
		var he *httpError
		if errors.As(err, &he) {
			return "", badRequest("q: at position %d: %s", t.pos, he.msg)
		}
		return "", err
	}
	p.i++
	return t.text, nil
}

// value reads a value: quoted, a string; else a number if it reads as one.
func (p *parser) value(after string) (value, error) {
	t := p.tok()
	if p.atEnd() || !t.word() {
		return value{}, p.fail(t, "a value after %s", after)
	}
	p.i++
	if t.quoted {
		return value{s: t.text}, nil
	}
	return textValue(t.text), nil
}

func (p *parser) condition() (query, error) {
	f, err := p.field()
	if err != nil {
		return nil, err
	}
	op := p.tok().op
	p.i++
	v, err := p.value(f + " " + op)
	if err != nil {
		return nil, err
	}
	return condition{field: f, op: op, value: v}, nil
}

func (p *parser) in() (query, error) {
	f, err := p.field()
	if err != nil {
		return nil, err
	}
	negated := p.tok().is("not")
	if negated {
		p.i++
	}
	p.i++ // in
	if p.tok().punct != '(' {
		return nil, p.fail(p.tok(), "( after %s in, as in %s in (1e-3, 3e-3)", f, f)
	}
	p.i++
	c := condition{field: f, op: "in"}
	for {
		v, err := p.value(f + " in (")
		if err != nil {
			return nil, err
		}
		c.values = append(c.values, v)
		t := p.tok()
		if t.punct == ')' {
			p.i++
			break
		}
		if t.punct != ',' {
			return nil, p.fail(t, ", or ) in the list of %s in", f)
		}
		p.i++
	}
	if negated {
		return not{c}, nil
	}
	return c, nil
}

var operators = []string{"!=", "<=", ">=", "=", "<", ">", "~"}

func isOpChar(r rune) bool { return strings.ContainsRune("=!<>~", r) }

// tokenize splits a query into tokens. A comma is a token only inside the
// list of an in, so that outside one a value such as a,b stays one word.
func tokenize(s string) ([]token, error) {
	var toks []token
	rs := []rune(s)
	inList := false
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '"' || r == '\'':
			j := i + 1
			for j < len(rs) && rs[j] != r {
				j++
			}
			if j == len(rs) {
				return nil, badRequest("q: at position %d: unterminated quote %c", i+1, r)
			}
			toks = append(toks, token{text: string(rs[i+1 : j]), pos: i + 1, quoted: true})
			i = j + 1
		case r == '(' || r == ')' || r == ',' && inList:
			if r == '(' && len(toks) > 0 && toks[len(toks)-1].is("in") {
				inList = true
			}
			if r == ')' {
				inList = false
			}
			toks = append(toks, token{text: string(r), pos: i + 1, punct: byte(r)})
			i++
		case isOpChar(r):
			op := ""
			for _, o := range operators {
				if strings.HasPrefix(string(rs[i:min(i+2, len(rs))]), o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, badRequest("q: at position %d: unknown operator %q; use = != < <= > >= or ~", i+1, string(rs[i:min(i+2, len(rs))]))
			}
			toks = append(toks, token{text: op, pos: i + 1, op: op})
			i += len(op)
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && !isOpChar(rs[j]) && rs[j] != '"' && rs[j] != '\'' &&
				rs[j] != '(' && rs[j] != ')' && !(rs[j] == ',' && inList) {
				j++
			}
			toks = append(toks, token{text: string(rs[i:j]), pos: i + 1})
			i = j
		}
	}
	return toks, nil
}
