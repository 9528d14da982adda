package query

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// SyntaxError is a query the parser rejects. Pos is the 1-based character
// position of the offending token; Expected and Found describe it when the
// parser wanted something else there.
type SyntaxError struct {
	Pos      int
	Expected string // e.g. "FROM", "a path", "')'"; "" when Msg says it all
	Found    string // e.g. "'WHERE'", "end of query"
	Msg      string // set when Expected is not
}

func (e *SyntaxError) Error() string {
	if e.Expected != "" {
		return fmt.Sprintf("query: position %d: expected %s, found %s", e.Pos, e.Expected, e.Found)
	}
	return fmt.Sprintf("query: position %d: %s", e.Pos, e.Msg)
}

func errorAt(src string, off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: utf8.RuneCountInString(src[:off]) + 1, Msg: fmt.Sprintf(format, args...)}
}

// keywords may not start a path or be an alias.
var keywords = map[string]bool{
	"SELECT": true, "TOP": true, "FROM": true, "WHERE": true, "GROUP": true, "BY": true, "AS": true,
	"AND": true, "OR": true, "NOT": true, "IN": true, "NIN": true, "TRUE": true, "FALSE": true, "NULL": true,
	"IS_DEFINED": true, "COUNT": true, "SUM": true, "AVG": true, "MIN": true, "MAX": true, "ORDER": true,
}

// aggregates maps an aggregate name to whether it takes a path argument.
var aggregates = map[string]bool{"COUNT": false, "SUM": true, "AVG": true, "MIN": true, "MAX": true}

// parser walks the tokens of one query.
type parser struct {
	src  string
	toks []token
	i    int
}

// Parse parses an IoT Hub twin query.
func Parse(src string) (*Query, error) {
	if len(src) > MaxLength {
		return nil, &SyntaxError{Pos: 1, Msg: fmt.Sprintf("query is %d bytes, longer than %d", len(src), MaxLength)}
	}
	if !utf8.ValidString(src) {
		return nil, &SyntaxError{Pos: 1, Msg: "query is not valid UTF-8"}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	q, err := p.query()
	if err != nil {
		return nil, err
	}
	return q, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// isKeyword reports whether the next token is keyword kw.
func (p *parser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.text == s
}

// accept consumes keyword or punctuation s if it is next.
func (p *parser) accept(s string) bool {
	if p.isKeyword(s) || p.isPunct(s) {
		p.i++
		return true
	}
	return false
}

// expect consumes keyword or punctuation s or fails naming it.
func (p *parser) expect(s string) error {
	if p.accept(s) {
		return nil
	}
	want := s
	if !isIdentStart(s[0]) {
		want = "'" + s + "'"
	}
	return p.unexpected(want)
}

// unexpected is the error for the next token when want was expected.
func (p *parser) unexpected(want string) *SyntaxError {
	t := p.peek()
	return &SyntaxError{Pos: utf8.RuneCountInString(p.src[:t.off]) + 1, Expected: want, Found: t.describe()}
}

func (p *parser) query() (*Query, error) {
	q := &Query{}
	if err := p.expect("SELECT"); err != nil {
		return nil, err
	}
	if err := p.top(q); err != nil {
		return nil, err
	}
	if err := p.selectList(q); err != nil {
		return nil, err
	}
	if err := p.from(); err != nil {
		return nil, err
	}
	if err := p.where(q); err != nil {
		return nil, err
	}
	if err := p.groupBy(q); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected("end of query")
	}
	return q, p.check(q)
}

func (p *parser) top(q *Query) error {
	if !p.accept("TOP") {
		return nil
	}
	t := p.peek()
	if t.kind != tokNumber || t.num < 1 || t.num != math.Trunc(t.num) || t.num > math.MaxInt32 {
		return p.unexpected("a positive whole number after TOP")
	}
	p.i++
	q.Top = int(t.num)
	return nil
}

func (p *parser) selectList(q *Query) error {
	if p.accept("*") {
		q.Star = true
		return nil
	}
	for {
		it, err := p.item()
		if err != nil {
			return err
		}
		q.Items = append(q.Items, it)
		if !p.accept(",") {
			return nil
		}
	}
}

// item parses `path [AS alias]` or `AGG(...) [AS alias]`.
func (p *parser) item() (Item, error) {
	var it Item
	t := p.peek()
	if up := strings.ToUpper(t.text); t.kind == tokIdent && p.toks[p.i+1].text == "(" {
		takesPath, ok := aggregates[up]
		if !ok {
			return it, p.unexpected("'*', a path or an aggregate (COUNT, SUM, AVG, MIN, MAX)")
		}
		p.i += 2
		it.Agg = up
		if takesPath {
			path, err := p.path()
			if err != nil {
				return it, err
			}
			it.Path = path
		}
		if err := p.expect(")"); err != nil {
			return it, err
		}
	} else {
		path, err := p.pathOr("'*', a path or an aggregate (COUNT, SUM, AVG, MIN, MAX)")
		if err != nil {
			return it, err
		}
		it.Path = path
	}
	if p.accept("AS") {
		t := p.peek()
		if t.kind != tokIdent || keywords[strings.ToUpper(t.text)] {
			return it, p.unexpected("an alias")
		}
		p.i++
		it.Alias = t.text
	}
	return it, nil
}

func (p *parser) from() error {
	if err := p.expect("FROM"); err != nil {
		return err
	}
	t := p.peek()
	if t.kind != tokIdent || !strings.EqualFold(t.text, "devices") {
		return p.unexpected("devices")
	}
	p.i++
	if p.isPunct(".") {
		return &SyntaxError{Pos: utf8.RuneCountInString(p.src[:p.peek().off]) + 1,
			Msg: "only FROM devices is supported (not devices.modules or devices.jobs)"}
	}
	return nil
}

func (p *parser) where(q *Query) error {
	if !p.accept("WHERE") {
		return nil
	}
	e, err := p.or()
	if err != nil {
		return err
	}
	q.Where = e
	return nil
}

func (p *parser) groupBy(q *Query) error {
	if !p.accept("GROUP") {
		return nil
	}
	if err := p.expect("BY"); err != nil {
		return err
	}
	path, err := p.path()
	if err != nil {
		return err
	}
	q.GroupBy = path
	return nil
}

// path parses ident ('.' ident)*; the first identifier must not be a
// keyword, later ones may. A leading "devices." is dropped.
func (p *parser) path() (Path, error) { return p.pathOr("a path") }

func (p *parser) pathOr(want string) (Path, error) {
	t := p.peek()
	if t.kind != tokIdent || keywords[strings.ToUpper(t.text)] {
		return nil, p.unexpected(want)
	}
	p.i++
	path := Path{t.text}
	for p.accept(".") {
		t := p.peek()
		if t.kind != tokIdent {
			return nil, p.unexpected("a property name after '.'")
		}
		p.i++
		path = append(path, t.text)
	}
	if len(path) > 1 && path[0] == "devices" {
		path = path[1:]
	}
	return path, nil
}

// check enforces the rules that span clauses: SELECT * cannot be grouped,
// and with aggregates every plain item must be the GROUP BY path.
func (p *parser) check(q *Query) error {
	if q.GroupBy != nil && q.Star {
		return &SyntaxError{Pos: 1, Msg: "GROUP BY needs a select list, not *"}
	}
	if !q.Aggregated() {
		if q.GroupBy != nil {
			return &SyntaxError{Pos: 1, Msg: "GROUP BY needs an aggregate (such as COUNT()) in the select list"}
		}
		return nil
	}
	for _, it := range q.Items {
		if it.Agg == "" && (q.GroupBy == nil || it.Path.String() != q.GroupBy.String()) {
			return &SyntaxError{Pos: 1, Msg: fmt.Sprintf("%s must be the GROUP BY path when the select list has aggregates", it.Path)}
		}
	}
	return nil
}
