package query

import "strings"

// comparisons are the comparison operators; <> is stored as !=.
var comparisons = map[string]string{"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

const wantCondition = "a condition (a comparison, IN, NIN, IS_DEFINED, NOT or '(')"

// or parses cond := and (OR and)*.
func (p *parser) or() (Expr, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.accept("OR") {
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = &Logic{Op: "OR", Left: left, Right: right}
	}
	return left, nil
}

// and parses and := unary (AND unary)*.
func (p *parser) and() (Expr, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.accept("AND") {
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = &Logic{Op: "AND", Left: left, Right: right}
	}
	return left, nil
}

// unary parses NOT unary | '(' cond ')' | IS_DEFINED(path) | comparison.
func (p *parser) unary() (Expr, error) {
	switch {
	case p.accept("NOT"):
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	case p.accept("("):
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		return x, p.expect(")")
	case p.accept("IS_DEFINED"):
		if err := p.expect("("); err != nil {
			return nil, err
		}
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		return &Defined{Path: path}, p.expect(")")
	}
	return p.comparison()
}

// comparison parses operand (op operand | IN list | NIN list).
func (p *parser) comparison() (Expr, error) {
	left, err := p.operand(wantCondition)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tokPunct && comparisons[t.text] != "" {
		p.i++
		right, err := p.operand("a path or a value after " + t.text)
		if err != nil {
			return nil, err
		}
		return &Compare{Op: comparisons[t.text], Left: left, Right: right}, nil
	}
	not := p.isKeyword("NIN")
	if !not && !p.isKeyword("IN") {
		return nil, p.unexpected("a comparison operator (= != <> < <= > >=), IN or NIN")
	}
	p.i++
	list, err := p.list()
	if err != nil {
		return nil, err
	}
	return &In{Left: left, List: list, Not: not}, nil
}

// operand parses a path or a literal.
func (p *parser) operand(want string) (Operand, error) {
	if v, ok := p.literal(); ok {
		return Operand{Value: v}, nil
	}
	path, err := p.pathOr(want)
	if err != nil {
		return Operand{}, err
	}
	return Operand{Path: path}, nil
}

// literal consumes a string, number, true, false or null if one is next.
func (p *parser) literal() (any, bool) {
	t := p.peek()
	switch t.kind {
	case tokString:
		p.i++
		return t.text, true
	case tokNumber:
		p.i++
		return t.num, true
	case tokIdent:
		switch strings.ToUpper(t.text) {
		case "TRUE":
			p.i++
			return true, true
		case "FALSE":
			p.i++
			return false, true
		case "NULL":
			p.i++
			return nil, true
		}
	}
	return nil, false
}

// list parses '[' [literal (',' literal)*] ']'.
func (p *parser) list() ([]any, error) {
	if err := p.expect("["); err != nil {
		return nil, err
	}
	list := []any{}
	if p.accept("]") {
		return list, nil
	}
	for {
		v, ok := p.literal()
		if !ok {
			return nil, p.unexpected("a value (string, number, true, false or null)")
		}
		list = append(list, v)
		if p.accept("]") {
			return list, nil
		}
		if !p.isPunct(",") {
			return nil, p.unexpected("',' or ']'")
		}
		p.i++
	}
}
