package query

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Query is a parsed query. It is immutable once Parse returns it.
type Query struct {
	Top     int    // TOP n; 0 = no limit
	Star    bool   // SELECT *
	Items   []Item // the select list when not Star
	Where   Expr   // nil = every document
	GroupBy Path   // nil = no grouping
}

// Item is one element of the select list.
type Item struct {
	Path  Path   // the projected path, or the aggregate's argument (nil for COUNT())
	Agg   string // "" for a plain path, else COUNT, SUM, AVG, MIN or MAX
	Alias string // AS alias; "" = none given
}

// Path is a member path in the twin document, such as
// [tags location region].
type Path []string

// String renders the path with dots.
func (p Path) String() string { return strings.Join(p, ".") }

// Expr is a condition. String renders it in canonical form (keywords upper
// case, full parentheses), which parses back to an equal Expr.
type Expr interface {
	eval(doc map[string]any) truth
	String() string
}

// Aggregated reports whether the select list holds an aggregate, so each
// result row describes a group rather than a document.
func (q *Query) Aggregated() bool {
	for _, it := range q.Items {
		if it.Agg != "" {
			return true
		}
	}
	return false
}

// String renders q in canonical form; Parse(q.String()) gives an equal
// query.
func (q *Query) String() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	if q.Top > 0 {
		b.WriteString("TOP " + strconv.Itoa(q.Top) + " ")
	}
	if q.Star {
		b.WriteString("*")
	}
	for i, it := range q.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it.String())
	}
	b.WriteString(" FROM devices")
	if q.Where != nil {
		b.WriteString(" WHERE " + q.Where.String())
	}
	if q.GroupBy != nil {
		b.WriteString(" GROUP BY " + q.GroupBy.String())
	}
	return b.String()
}

// String renders the item as written in a select list.
func (it Item) String() string {
	s := it.Path.String()
	if it.Agg != "" {
		s = it.Agg + "(" + s + ")"
	}
	if it.Alias != "" {
		s += " AS " + it.Alias
	}
	return s
}

// Operand is one side of a comparison: a path or a literal.
type Operand struct {
	Path  Path // nil for a literal
	Value any  // the literal: string, float64, bool or nil
}

func (o Operand) String() string {
	if o.Path != nil {
		return o.Path.String()
	}
	return literal(o.Value)
}

// literal renders a literal value as query text.
func literal(v any) string {
	switch v := v.(type) {
	case string:
		return quote(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return "null"
}

// Compare is `Left Op Right` with Op one of = != < <= > >= (<> is read as
// !=).
type Compare struct {
	Op          string
	Left, Right Operand
}

func (c *Compare) String() string {
	return "(" + c.Left.String() + " " + c.Op + " " + c.Right.String() + ")"
}

// In is `Left IN [List]`, or NIN when Not.
type In struct {
	Left Operand
	List []any
	Not  bool
}

func (in *In) String() string {
	op := " IN ["
	if in.Not {
		op = " NIN ["
	}
	vals := make([]string, len(in.List))
	for i, v := range in.List {
		vals[i] = literal(v)
	}
	return "(" + in.Left.String() + op + strings.Join(vals, ", ") + "])"
}

// Defined is IS_DEFINED(Path).
type Defined struct{ Path Path }

func (d *Defined) String() string { return "IS_DEFINED(" + d.Path.String() + ")" }

// Logic is AND or OR of two conditions.
type Logic struct {
	Op          string // AND or OR
	Left, Right Expr
}

func (l *Logic) String() string {
	return "(" + l.Left.String() + " " + l.Op + " " + l.Right.String() + ")"
}

// Not negates a condition.
type Not struct{ X Expr }

func (n *Not) String() string { return "(NOT " + n.X.String() + ")" }

// quote renders s as a double-quoted string literal with JSON escapes,
// which the lexer reads back to s (s is valid UTF-8: Parse checks).
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
