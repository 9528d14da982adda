package query

import (
	"encoding/json"
	"math"
)

// truth is a three-valued logic value: a missing path or a comparison of
// incompatible values is undefined, and only true selects a document.
type truth int8

const (
	undefined truth = iota
	isFalse
	isTrue
)

func truthOf(b bool) truth {
	if b {
		return isTrue
	}
	return isFalse
}

// Match reports whether doc satisfies the WHERE clause (always, without
// one).
func (q *Query) Match(doc map[string]any) bool {
	return q.Where == nil || q.Where.eval(doc) == isTrue
}

func (l *Logic) eval(doc map[string]any) truth {
	a := l.Left.eval(doc)
	if l.Op == "AND" {
		if a == isFalse {
			return isFalse
		}
		b := l.Right.eval(doc)
		switch {
		case b == isFalse:
			return isFalse
		case a == isTrue && b == isTrue:
			return isTrue
		}
		return undefined
	}
	if a == isTrue {
		return isTrue
	}
	b := l.Right.eval(doc)
	switch {
	case b == isTrue:
		return isTrue
	case a == isFalse && b == isFalse:
		return isFalse
	}
	return undefined
}

func (n *Not) eval(doc map[string]any) truth {
	switch n.X.eval(doc) {
	case isTrue:
		return isFalse
	case isFalse:
		return isTrue
	}
	return undefined
}

func (d *Defined) eval(doc map[string]any) truth {
	_, ok := Lookup(doc, d.Path)
	return truthOf(ok)
}

func (c *Compare) eval(doc map[string]any) truth {
	a, okA := c.Left.value(doc)
	b, okB := c.Right.value(doc)
	if !okA || !okB {
		return undefined
	}
	cmp, ok := compare(a, b, c.Op == "=" || c.Op == "!=")
	if !ok {
		return undefined
	}
	switch c.Op {
	case "=":
		return truthOf(cmp == 0)
	case "!=":
		return truthOf(cmp != 0)
	case "<":
		return truthOf(cmp < 0)
	case "<=":
		return truthOf(cmp <= 0)
	case ">":
		return truthOf(cmp > 0)
	}
	return truthOf(cmp >= 0) // ">="
}

func (in *In) eval(doc map[string]any) truth {
	v, ok := in.Left.value(doc)
	if !ok {
		return undefined
	}
	found := false
	for _, e := range in.List {
		if cmp, ok := compare(v, e, true); ok && cmp == 0 {
			found = true
			break
		}
	}
	return truthOf(found != in.Not)
}

// value is the operand's primitive value in doc; false when the path is
// missing or names an object or array.
func (o Operand) value(doc map[string]any) (any, bool) {
	if o.Path == nil {
		return o.Value, true
	}
	v, ok := Lookup(doc, o.Path)
	if !ok {
		return nil, false
	}
	return primitive(v)
}

// Lookup returns the value at path in doc.
func Lookup(doc map[string]any, path Path) (any, bool) {
	var cur any = doc
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// primitive normalizes a JSON value for comparison: numbers of any Go type
// become float64; strings, bools and nil stay; anything else is not a
// primitive.
func primitive(v any) (any, bool) {
	switch v := v.(type) {
	case nil, string, bool, float64:
		return v, true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case float32:
		return float64(v), true
	}
	return nil, false
}

// compare orders two primitives of the same type: -1, 0 or +1. Only
// numbers and strings are ordered; booleans and null compare for equality
// only (when eqOnly). Values of different types do not compare.
func compare(a, b any, eqOnly bool) (int, bool) {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		if !ok || math.IsNaN(a) || math.IsNaN(b) {
			return 0, false
		}
		return cmpOrdered(a, b), true
	case string:
		b, ok := b.(string)
		if !ok {
			return 0, false
		}
		return cmpOrdered(a, b), true
	case bool:
		b, ok := b.(bool)
		if !ok || !eqOnly {
			return 0, false
		}
		return cmpOrdered(boolInt(a), boolInt(b)), true
	case nil:
		if b != nil || !eqOnly {
			return 0, false
		}
		return 0, true
	}
	return 0, false
}

func cmpOrdered[T float64 | string | int](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jsonText is v as JSON, for grouping objects and arrays by value.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}
