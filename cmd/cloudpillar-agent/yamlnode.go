package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fieldError is one problem with one config field. At says where the
// value came from: "agent.yaml:7", "agent.yaml" (a missing field) or a
// flag such as "--store".
type fieldError struct {
	At, Field, Msg string
}

func (e fieldError) Error() string { return e.At + ": " + e.Field + ": " + e.Msg }

// configErrors are every problem found in a config, one per line.
type configErrors []error

func (e configErrors) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// field describes one key of a YAML mapping: a scalar (or list of
// scalars) with its setter, a section (a nested mapping) whose fields are
// made when the key is seen, or a list of mappings whose item fields are
// made for each item.
type field struct {
	name    string
	set     func(n *yaml.Node) error
	section func() []field
	items   func() []field
}

// decoder walks a YAML node tree into fields, recording where each value
// came from and collecting every error with its line.
type decoder struct {
	file string
	at   map[string]string // field path -> "file:line" or flag name
	errs configErrors
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, at: map[string]string{}}
}

func (d *decoder) loc(line int) string { return fmt.Sprintf("%s:%d", d.file, line) }

// where is the origin of field path name; for a field that was not set,
// the origin of the nearest enclosing section or list item that was
// ("logs.sources[1].root" falls back to "logs.sources[1]", then
// "logs.sources", then "logs"), or the file.
func (d *decoder) where(name string) string {
	for p := name; p != ""; p = parentPath(p) {
		if at, ok := d.at[p]; ok {
			return at
		}
	}
	return d.file
}

// parentPath drops the last element of a field path: "a.b[2].c" -> "a.b[2]"
// -> "a.b" -> "a" -> "".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// fail records an error for field name at its origin.
func (d *decoder) fail(name, format string, args ...any) {
	d.errs = append(d.errs, fieldError{At: d.where(name), Field: name, Msg: fmt.Sprintf(format, args...)})
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// document parses raw and decodes its top-level mapping into fields. It
// returns false when raw is not YAML at all (nothing else is worth saying).
func (d *decoder) document(raw []byte, fields []field) bool {
	var doc yaml.Node
	err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&doc)
	if errors.Is(err, io.EOF) {
		return true // empty file: every required field is reported missing
	}
	if err != nil {
		msg := err.Error()
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			d.errs = append(d.errs, fmt.Errorf("%s:%s: not valid YAML: %s", d.file, m[1], msg[len(m[0]):]))
		} else {
			d.errs = append(d.errs, fmt.Errorf("%s: not valid YAML: %s", d.file, strings.TrimPrefix(msg, "yaml: ")))
		}
		return false
	}
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = deref(root.Content[0])
	}
	if isNull(root) {
		return true
	}
	if root.Kind != yaml.MappingNode {
		d.errs = append(d.errs, fmt.Errorf("%s: the config must be a mapping of fields (name: value), got %s", d.loc(root.Line), describe(root)))
		return true
	}
	d.mapping(root, "", fields)
	return true
}

// mapping decodes the keys of mapping node n; prefix is the section path
// ("backoff.") or "" at the top.
func (d *decoder) mapping(n *yaml.Node, prefix string, fields []field) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		name := prefix + k.Value
		f, ok := lookup(fields, k.Value)
		switch {
		case !ok:
			d.errs = append(d.errs, fieldError{At: d.loc(k.Line), Field: name, Msg: unknownMsg(k.Value, fields)})
		case seen[k.Value]:
			d.errs = append(d.errs, fieldError{At: d.loc(k.Line), Field: name, Msg: "appears twice (first at " + d.at[name] + ")"})
		default:
			seen[k.Value] = true
			d.at[name] = d.loc(k.Line)
			d.value(f, v, name)
		}
	}
}

// value decodes v into field f.
func (d *decoder) value(f field, v *yaml.Node, name string) {
	switch {
	case f.items != nil:
		d.list(f, v, name)
		return
	case f.section == nil:
		if err := f.set(v); err != nil {
			d.fail(name, "%v", err)
		}
		return
	}
	sub := f.section()
	switch {
	case v.Kind == yaml.MappingNode:
		d.mapping(v, name+".", sub)
	case !isNull(v):
		d.fail(name, "must be a mapping of fields, got %s", describe(v))
	}
}

// list decodes a list of mappings: each item gets fresh fields from
// f.items and the path name[i].
func (d *decoder) list(f field, v *yaml.Node, name string) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.SequenceNode {
		d.fail(name, "must be a list, got %s", describe(v))
		return
	}
	for i, item := range v.Content {
		item = deref(item)
		path := fmt.Sprintf("%s[%d]", name, i)
		d.at[path] = d.loc(item.Line)
		if item.Kind != yaml.MappingNode {
			d.fail(path, "must be a mapping of fields, got %s", describe(item))
			continue
		}
		d.mapping(item, path+".", f.items())
	}
}

// override sets field path name from a command-line flag, with the same
// checks as the file.
func (d *decoder) override(fields []field, name, flagName, value string) {
	f, ok := lookupPath(fields, name)
	if !ok {
		panic("override of unknown config field " + name) // programmer error
	}
	d.at[name] = flagName
	d.value(f, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}, name)
}

func lookup(fields []field, name string) (field, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// lookupPath finds a top-level scalar field by name (flags override only
// top-level fields).
func lookupPath(fields []field, name string) (field, bool) {
	f, ok := lookup(fields, name)
	return f, ok && f.set != nil
}

// unknownMsg explains an unknown key, suggesting a field that differs only
// in case.
func unknownMsg(key string, fields []field) string {
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return fmt.Sprintf("unknown field (did you mean %s?)", f.name)
		}
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return "unknown field; known fields here: " + strings.Join(names, ", ")
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names a value for an error message: "fast" (quoted) for a
// string, 1.5 for another scalar, "a list" or "a mapping" otherwise.
func describe(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.ShortTag() == "!!str":
		return strconv.Quote(n.Value)
	}
	return n.Value
}

// setString accepts any scalar as text; null is "".
func setString(p *string) func(*yaml.Node) error {
	return func(n *yaml.Node) error {
		if isNull(n) {
			*p = ""
			return nil
		}
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("must be a string, got %s", describe(n))
		}
		*p = n.Value
		return nil
	}
}

// setInt accepts an integer in [lo, hi].
func setInt(p *int, lo, hi int) func(*yaml.Node) error {
	return func(n *yaml.Node) error {
		var v int
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil || v < lo || v > hi {
			return fmt.Errorf("must be an integer between %d and %d, got %s", lo, hi, describe(n))
		}
		*p = v
		return nil
	}
}

// setEnum accepts one of the given strings.
func setEnum(p *string, values ...string) func(*yaml.Node) error {
	return func(n *yaml.Node) error {
		var s string
		if err := setString(&s)(n); err != nil {
			return err
		}
		for _, v := range values {
			if s == v {
				*p = s
				return nil
			}
		}
		return fmt.Errorf("must be one of %s, got %s", strings.Join(values, ", "), describe(n))
	}
}

// setChecked accepts a string that check approves (and may normalise).
func setChecked(p *string, check func(string) (string, error)) func(*yaml.Node) error {
	return func(n *yaml.Node) error {
		var s string
		if err := setString(&s)(n); err != nil {
			return err
		}
		v, err := check(s)
		if err != nil {
			return err
		}
		*p = v
		return nil
	}
}

// setOptional is setChecked for a field whose absence differs from "":
// null (a key with no value) leaves it unset, "" sets it empty.
func setOptional(p **string, check func(string) (string, error)) func(*yaml.Node) error {
	return func(n *yaml.Node) error {
		if isNull(n) {
			return nil
		}
		var s string
		if err := setChecked(&s, check)(n); err != nil {
			return err
		}
		*p = &s
		return nil
	}
}

// setBool accepts true or false.
func setBool(p *bool) func(*yaml.Node) error {
	return func(n *yaml.Node) error {
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(p) != nil {
			return fmt.Errorf("must be true or false, got %s", describe(n))
		}
		return nil
	}
}

// setStrings accepts a list of strings (a single string is a list of one);
// check, if not nil, vets each.
func setStrings(p *[]string, check func(string) error) func(*yaml.Node) error {
	return func(n *yaml.Node) error {
		if isNull(n) {
			*p = nil
			return nil
		}
		items := []*yaml.Node{n}
		if n.Kind == yaml.SequenceNode {
			items = n.Content
		}
		var out []string
		for i, item := range items {
			item = deref(item)
			if item.Kind != yaml.ScalarNode || isNull(item) {
				return fmt.Errorf("item %d must be a string, got %s", i+1, describe(item))
			}
			if check != nil {
				if err := check(item.Value); err != nil {
					return fmt.Errorf("item %d: %w", i+1, err)
				}
			}
			out = append(out, item.Value)
		}
		*p = out
		return nil
	}
}
