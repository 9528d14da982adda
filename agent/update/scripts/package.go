package scripts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// PackageFile is the name of the package description among an update's
// files.
const PackageFile = "package.json"

// ErrBadPackage is wrapped by every error about a package that cannot be
// installed as described: missing or malformed PackageFile, a program or
// script that is not one of the update's files, a path that leaves the
// slot. Nothing was written or run.
var ErrBadPackage = errors.New("scripts: bad package")

// Step names, as keys of PackageFile and in CLOUDPILLAR_STEP.
const (
	stepInstall  = "install"
	stepActivate = "activate"
	stepHealth   = "health"
	stepCommit   = "commit"
	stepRollback = "rollback"
)

// Limits on a package description.
const (
	maxPackageBytes = 64 << 10
	maxArgs         = 64
	maxArgBytes     = 4096
)

// pkg is a package description: one argv per step. Commit is optional.
type pkg struct {
	Install  []string `json:"install"`
	Activate []string `json:"activate"`
	Health   []string `json:"health"`
	Commit   []string `json:"commit,omitempty"`
	Rollback []string `json:"rollback"`
}

// argv is the command of step, nil if the package has none.
func (p *pkg) argv(step string) []string {
	switch step {
	case stepInstall:
		return p.Install
	case stepActivate:
		return p.Activate
	case stepHealth:
		return p.Health
	case stepCommit:
		return p.Commit
	case stepRollback:
		return p.Rollback
	}
	return nil
}

// readPackage reads and checks the package description among files.
func readPackage(files []update.StagedFile) (*pkg, error) {
	names, err := fileNames(files)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Name == PackageFile {
			raw, err := readLimited(f.Path, maxPackageBytes)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrBadPackage, PackageFile, err)
			}
			return parsePackage(raw, names)
		}
	}
	return nil, fmt.Errorf("%w: no %s among the update's files", ErrBadPackage, PackageFile)
}

// fileNames checks that every staged name is a plain, distinct file name
// (agent/update checks this already; a slot must not depend on it).
func fileNames(files []update.StagedFile) (map[string]bool, error) {
	names := make(map[string]bool, len(files))
	for _, f := range files {
		if !plainName(f.Name) {
			return nil, fmt.Errorf("%w: file name %q is not a plain file name", ErrBadPackage, f.Name)
		}
		if names[f.Name] {
			return nil, fmt.Errorf("%w: file %q is listed twice", ErrBadPackage, f.Name)
		}
		names[f.Name] = true
	}
	return names, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(raw)) > limit {
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	return raw, err
}

// parsePackage decodes a package description (unknown keys refused, so a
// misspelt step is not silently skipped) and checks every step's argv
// against the package's file names.
func parsePackage(raw []byte, names map[string]bool) (*pkg, error) {
	var p pkg
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadPackage, PackageFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s: data after the JSON object", ErrBadPackage, PackageFile)
	}
	if err := p.check(names); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadPackage, PackageFile, err)
	}
	return &p, nil
}

// check validates every step; all but commit are required.
func (p *pkg) check(names map[string]bool) error {
	for _, step := range []string{stepInstall, stepActivate, stepHealth, stepCommit, stepRollback} {
		argv := p.argv(step)
		if argv == nil && step == stepCommit {
			continue
		}
		if err := checkArgv(argv, names); err != nil {
			return fmt.Errorf("step %q: %w", step, err)
		}
	}
	return nil
}

// checkArgv applies the path rules to one command.
func checkArgv(argv []string, names map[string]bool) error {
	switch {
	case len(argv) == 0:
		return errors.New("missing or empty command")
	case len(argv) > maxArgs:
		return fmt.Errorf("more than %d arguments", maxArgs)
	}
	if _, ok := slotFile(argv[0]); !ok && !plainName(argv[0]) {
		return fmt.Errorf("program %q must be a program name found on PATH or a package file written ./name", argv[0])
	}
	for _, a := range argv {
		if err := checkArg(a, names); err != nil {
			return err
		}
	}
	return nil
}

// checkArg refuses an element that names a file outside the package.
func checkArg(a string, names map[string]bool) error {
	switch {
	case len(a) > maxArgBytes:
		return fmt.Errorf("argument longer than %d bytes", maxArgBytes)
	case strings.ContainsRune(a, 0):
		return errors.New("argument contains a NUL byte")
	case climbs(a):
		return fmt.Errorf("%q leaves the slot (..)", a)
	case absolute(a):
		return fmt.Errorf("%q is an absolute path; a package may only run its own files and programs on PATH", a)
	}
	name, isRef := slotFile(a)
	switch {
	case !isRef && (strings.HasPrefix(a, "./") || strings.HasPrefix(a, `.\`)):
		return fmt.Errorf("%q is not a file at the top of the slot", a)
	case isRef && !names[name]:
		return fmt.Errorf("%q is not one of the update's (signed) files", a)
	}
	return nil
}

// slotFile returns name for "./name" or ".\name" with a plain name.
func slotFile(a string) (string, bool) {
	for _, prefix := range []string{"./", `.\`} {
		if name, ok := strings.CutPrefix(a, prefix); ok && plainName(name) {
			return name, true
		}
	}
	return "", false
}

// plainName reports whether s is a single path element: no separator,
// no drive colon, not "." or "..".
func plainName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\:`) && !strings.ContainsRune(s, 0)
}

// climbs reports whether any path element of a is "..".
func climbs(a string) bool {
	for _, el := range strings.FieldsFunc(a, func(r rune) bool { return r == '/' || r == '\\' || r == '=' }) {
		if el == ".." {
			return true
		}
	}
	return false
}

// absolute reports whether a looks like an absolute path on Unix or
// Windows: "/x/y", "/x.sh", "\\server\share", "C:\x", "C:/x". A single word
// after one slash ("/c", "/quiet") is taken as a Windows-style switch.
func absolute(a string) bool {
	if len(a) >= 3 && a[1] == ':' && (a[2] == '\\' || a[2] == '/') {
		return true
	}
	if a == "" || (a[0] != '/' && a[0] != '\\') {
		return false
	}
	return len(a) == 1 || strings.ContainsAny(a[1:], `/\.`)
}
