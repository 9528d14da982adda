package twin

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Acknowledgement codes (IoT Plug and Play "ac", PROTOCOL.md §7).
const (
	ACApplied    = 200
	ACInProgress = 202
	ACRejected   = 400
	ACFailed     = 500
)

// Ack is a writable property's reported acknowledgement.
type Ack struct {
	Value       any    `json:"value"`
	Code        int    `json:"ac"`
	Version     int    `json:"av"`
	Description string `json:"ad,omitempty"`
}

// Property is one writable property the agent accepts. Apply validates and
// applies a desired value and returns the value now in force; an error
// rejects the value (ac 400) and leaves the previous one in force. Apply
// may return ErrInProgress to acknowledge with ac 202 (the owner reports
// the final 200 later). Current returns the value in force.
type Property struct {
	Name    string
	Section string // the subsystem it belongs to: telemetry, logs, updates, maintenance ...
	Apply   func(raw any) (any, error)
	Current func() any
}

// ErrInProgress is returned by Property.Apply for a change that will
// finish later (ac 202).
var ErrInProgress = fmt.Errorf("in progress")

// Reconciler dispatches desired properties to their handlers and builds
// the acknowledgements. It tracks the desired $version last applied.
type Reconciler struct {
	props   map[string]Property
	version int // desired $version last applied; 0 = none yet
}

// New returns a reconciler for the given properties.
func New(props ...Property) *Reconciler {
	r := &Reconciler{props: make(map[string]Property, len(props))}
	for _, p := range props {
		r.props[p.Name] = p
	}
	return r
}

// Version is the desired $version last applied.
func (r *Reconciler) Version() int { return r.version }

// Names lists the writable properties the reconciler accepts, sorted.
func (r *Reconciler) Names() []string {
	out := make([]string, 0, len(r.props))
	for n := range r.props {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Apply applies a desired document (a patch notification or the desired
// section of a full twin). Documents whose $version is not newer than the
// last applied one are ignored (PROTOCOL.md §2.3). It returns the reported
// patch of acknowledgements (nil when there is nothing to acknowledge).
// Unknown desired properties are ignored: another component may own them.
func (r *Reconciler) Apply(desired map[string]any) map[string]any {
	v, ok := version(desired)
	if !ok || v <= r.version {
		return nil
	}
	r.version = v
	var patch map[string]any
	for name, raw := range desired {
		p, known := r.props[name]
		if !known {
			continue
		}
		if patch == nil {
			patch = map[string]any{}
		}
		patch[name] = apply(p, raw, v)
	}
	return patch
}

func apply(p Property, raw any, v int) (ack Ack) {
	defer func() {
		if e := recover(); e != nil {
			ack = Ack{Value: p.Current(), Code: ACFailed, Version: v, Description: fmt.Sprintf("%s: internal error applying the value", p.Name)}
		}
	}()
	val, err := p.Apply(raw)
	switch {
	case err == ErrInProgress:
		return Ack{Value: val, Code: ACInProgress, Version: v}
	case err != nil:
		return Ack{Value: p.Current(), Code: ACRejected, Version: v, Description: err.Error()}
	}
	return Ack{Value: val, Code: ACApplied, Version: v}
}

func version(doc map[string]any) (int, bool) {
	switch x := doc["$version"].(type) {
	case float64:
		return int(x), true
	case json.Number:
		n, err := x.Int64()
		return int(n), err == nil
	}
	return 0, false
}

// Describe names a JSON value's kind for error messages.
func Describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case float64, json.Number:
		return fmt.Sprintf("the number %v", x)
	default:
		return fmt.Sprintf("%T", v)
	}
}
