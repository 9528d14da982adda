package query

import "strconv"

// Run evaluates q over docs (in the order given) and returns the result
// rows: the matching documents themselves for SELECT *, one projected row
// per matching document for a plain select list, and one row per group
// (or a single row without GROUP BY) when the list has aggregates. TOP
// limits the rows. Rows for SELECT * share structure with docs; other rows
// are new maps.
func (q *Query) Run(docs []map[string]any) []map[string]any {
	var matched []map[string]any
	for _, d := range docs {
		if q.Match(d) {
			matched = append(matched, d)
		}
	}
	var rows []map[string]any
	switch {
	case q.Aggregated():
		rows = q.aggregate(matched)
	case q.Star:
		rows = matched
	default:
		rows = make([]map[string]any, 0, len(matched))
		for _, d := range matched {
			rows = append(rows, q.project(d))
		}
	}
	if q.Top > 0 && len(rows) > q.Top {
		rows = rows[:q.Top]
	}
	return rows
}

// project builds the row for one document: each item under its alias, or
// its last path element; missing values are left out, as IoT Hub does.
func (q *Query) project(doc map[string]any) map[string]any {
	row := make(map[string]any, len(q.Items))
	for i, it := range q.Items {
		if v, ok := Lookup(doc, it.Path); ok {
			row[q.column(i)] = v
		}
	}
	return row
}

// column is the result key of item i: its alias, the last element of its
// path, or "$n" for an aggregate without an alias (n counting such items
// from 1).
func (q *Query) column(i int) string {
	it := q.Items[i]
	if it.Alias != "" {
		return it.Alias
	}
	if it.Agg == "" {
		return it.Path[len(it.Path)-1]
	}
	n := 0
	for _, o := range q.Items[:i+1] {
		if o.Alias == "" && o.Agg != "" {
			n++
		}
	}
	return "$" + strconv.Itoa(n)
}

// group is the documents sharing one GROUP BY value.
type group struct {
	key     any // the group's value; absent when !defined
	defined bool
	docs    []map[string]any
}

// aggregate groups docs (all in one group without GROUP BY) and renders
// one row per group, groups in order of first appearance.
func (q *Query) aggregate(docs []map[string]any) []map[string]any {
	groups := []*group{{docs: docs}}
	if q.GroupBy != nil {
		groups = q.groups(docs)
	}
	rows := make([]map[string]any, 0, len(groups))
	for _, g := range groups {
		row := make(map[string]any, len(q.Items))
		for i, it := range q.Items {
			if it.Agg == "" {
				if g.defined {
					row[q.column(i)] = g.key
				}
				continue
			}
			if v, ok := reduce(it, g.docs); ok {
				row[q.column(i)] = v
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// groups partitions docs by the GROUP BY value. Values group by their JSON
// text, so 1 and 1.0 (and json.Number("1")) fall together.
func (q *Query) groups(docs []map[string]any) []*group {
	var out []*group
	byKey := map[string]*group{}
	for _, d := range docs {
		v, ok := Lookup(d, q.GroupBy)
		k := groupKey(v, ok)
		g := byKey[k]
		if g == nil {
			g = &group{key: v, defined: ok}
			byKey[k] = g
			out = append(out, g)
		}
		g.docs = append(g.docs, d)
	}
	return out
}

func groupKey(v any, defined bool) string {
	if !defined {
		return "u"
	}
	if p, ok := primitive(v); ok {
		return "p" + literal(p)
	}
	return "o" + jsonText(v)
}

// reduce computes one aggregate over a group; false when it has no value
// (SUM, AVG, MIN, MAX over no numbers).
func reduce(it Item, docs []map[string]any) (any, bool) {
	if it.Agg == "COUNT" {
		return len(docs), true
	}
	var sum float64
	var n int
	var lo, hi float64
	for _, d := range docs {
		v, ok := Lookup(d, it.Path)
		if !ok {
			continue
		}
		f, ok := primitive(v)
		x, isNum := f.(float64)
		if !ok || !isNum {
			continue
		}
		if n == 0 || x < lo {
			lo = x
		}
		if n == 0 || x > hi {
			hi = x
		}
		sum += x
		n++
	}
	if n == 0 {
		return nil, false
	}
	switch it.Agg {
	case "SUM":
		return sum, true
	case "AVG":
		return sum / float64(n), true
	case "MIN":
		return lo, true
	}
	return hi, true // MAX
}
