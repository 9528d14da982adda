package update

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Manifest limits. They bound the work an attacker can cause with signed
// or unsigned metadata.
const (
	MaxManifestBytes  = 64 << 10 // updateManifest
	MaxSignatureBytes = 32 << 10 // updateManifestSignature, sjwk included
	MaxFiles          = 64
	MaxCompatibility  = 32
	maxIDLength       = 64
	maxFileNameLength = 255
)

// UpdateID names an update, as ADU does.
type UpdateID struct {
	Provider string `json:"provider"`
	Name     string `json:"name"`
	Version  string `json:"version"`
}

// Compatibility is one device kind the update is for; all three fields
// must equal the device's.
type Compatibility struct {
	Manufacturer string `json:"manufacturer"`
	Model        string `json:"model"`
	HardwareID   string `json:"hardwareId"`
}

// FileEntry is one payload file: its id (the key in
// ServiceUpdate.FileURLs), name, exact size and SHA-256.
type FileEntry struct {
	// ID is the file's key in fileUrls, like ADU's fileId. Twin property
	// names may not contain '.', '$' or spaces, so a file name such as
	// "rootfs.img" cannot be a key in a real twin: give every file an ID
	// of 1-64 letters, digits, '-' or '_'. Without one the name is the
	// key (usable only where the service object does not travel through
	// a twin).
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	SizeInBytes int64  `json:"sizeInBytes"`
	Hashes      Hashes `json:"hashes"`
}

// URLKey is the key of the file's URL in ServiceUpdate.FileURLs: its ID,
// or its name when it has no ID.
func (f FileEntry) URLKey() string {
	if f.ID != "" {
		return f.ID
	}
	return f.Name
}

// checkFileID accepts a twin-safe file id.
func checkFileID(id string) error {
	if len(id) > maxIDLength {
		return fmt.Errorf("file id must be at most %d bytes", maxIDLength)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("file id %q may hold only letters, digits, '-' and '_'", id)
		}
	}
	return nil
}

// Hashes holds a file's digests, base64 (standard alphabet) as in ADU.
type Hashes struct {
	SHA256 string `json:"sha256"`
}

// Manifest is the manufacturer-signed inner manifest (the updateManifest).
type Manifest struct {
	UpdateID UpdateID `json:"updateId"`
	// Line is the update stream the release counter counts in (say
	// "carto3-v7"); rollback protection is per line.
	Line string `json:"line"`
	// ReleaseCounter increases with every release on the line.
	ReleaseCounter uint64          `json:"releaseCounter"`
	Expires        time.Time       `json:"expires"`
	Compatibility  []Compatibility `json:"compatibility"`
	Files          []FileEntry     `json:"files"`
	// Downgrade marks a deliberately signed downgrade: only such a
	// manifest may carry a release counter at or below the installed one.
	Downgrade bool `json:"downgrade,omitempty"`

	// Provenance is filled in by Verify; it is not part of the JSON.
	Provenance Provenance `json:"-"`
}

// Provenance records how a manifest was accepted.
type Provenance struct {
	RootKeyID            string // root key that signed the signing key
	SigningKeyID         string // signing key that signed the manifest
	SigningKeyThumbprint string // RFC 7638 SHA-256 thumbprint, base64url
	// IsDowngrade is true when the release counter is not above the
	// installed one and the manifest was accepted only because it is a
	// signed downgrade. Callers must log and audit it.
	IsDowngrade      bool
	InstalledCounter uint64 // the line's counter before this update
}

// SHA256Sum decodes the declared SHA-256.
func (f FileEntry) SHA256Sum() ([]byte, error) {
	sum, err := base64.StdEncoding.Strict().DecodeString(f.Hashes.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sha256 of %q is not base64: %w", f.Name, err)
	}
	if len(sum) != 32 {
		return nil, fmt.Errorf("sha256 of %q is %d bytes, want 32", f.Name, len(sum))
	}
	return sum, nil
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields and trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// parseManifest decodes and checks everything that does not depend on the
// device, the time or the installed state.
func parseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := decodeStrict(data, &m); err != nil {
		return nil, reject(ReasonMalformedManifest, err, "manifest is not valid JSON of the expected shape")
	}
	if err := m.checkFields(); err != nil {
		return nil, reject(ReasonMalformedManifest, nil, "%s", err)
	}
	if err := m.checkFiles(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) checkFields() error {
	id := m.UpdateID
	for _, f := range [...]struct{ name, v string }{
		{"updateId.provider", id.Provider}, {"updateId.name", id.Name}, {"updateId.version", id.Version}, {"line", m.Line},
	} {
		if f.v == "" || len(f.v) > maxIDLength || !utf8.ValidString(f.v) {
			return fmt.Errorf("%s must be 1-%d bytes of UTF-8", f.name, maxIDLength)
		}
	}
	switch {
	case m.ReleaseCounter == 0:
		return errors.New("releaseCounter is missing or 0")
	case m.Expires.IsZero():
		return errors.New("expires is missing")
	case len(m.Compatibility) == 0 || len(m.Compatibility) > MaxCompatibility:
		return fmt.Errorf("compatibility must list 1-%d device kinds, has %d", MaxCompatibility, len(m.Compatibility))
	}
	for i, c := range m.Compatibility {
		if c.Manufacturer == "" || c.Model == "" || c.HardwareID == "" {
			return fmt.Errorf("compatibility[%d] needs manufacturer, model and hardwareId", i)
		}
	}
	return nil
}

func (m *Manifest) checkFiles() error {
	if len(m.Files) == 0 || len(m.Files) > MaxFiles {
		return reject(ReasonBadFileEntry, nil, "manifest must list 1-%d files, has %d", MaxFiles, len(m.Files))
	}
	seen := make(map[string]bool, len(m.Files))
	keys := make(map[string]bool, len(m.Files))
	for i, f := range m.Files {
		if err := checkFileName(f.Name); err != nil {
			return reject(ReasonBadFileEntry, err, "files[%d]", i)
		}
		if seen[strings.ToLower(f.Name)] {
			return reject(ReasonBadFileEntry, nil, "files[%d]: name %q listed twice", i, f.Name)
		}
		seen[strings.ToLower(f.Name)] = true
		if err := checkFileID(f.ID); err != nil {
			return reject(ReasonBadFileEntry, err, "files[%d]", i)
		}
		if keys[f.URLKey()] {
			return reject(ReasonBadFileEntry, nil, "files[%d]: id %q names another file too", i, f.URLKey())
		}
		keys[f.URLKey()] = true
		if f.SizeInBytes <= 0 {
			return reject(ReasonBadFileEntry, nil, "files[%d] %q: sizeInBytes missing or not positive", i, f.Name)
		}
		if _, err := f.SHA256Sum(); err != nil {
			return reject(ReasonBadFileEntry, err, "files[%d]", i)
		}
	}
	return nil
}

// checkFileName accepts a plain file name that is safe to create on Linux
// and Windows: no separators, no drive or stream colon, no control
// characters, no "." or "..", no Windows device name.
func checkFileName(name string) error {
	switch {
	case name == "" || len(name) > maxFileNameLength:
		return fmt.Errorf("file name must be 1-%d bytes", maxFileNameLength)
	case !utf8.ValidString(name):
		return errors.New("file name is not UTF-8")
	case name == "." || name == "..":
		return fmt.Errorf("file name %q is a directory reference", name)
	case strings.ContainsAny(name, `/\:*?"<>|`):
		return fmt.Errorf("file name %q contains a path separator or reserved character", name)
	case strings.TrimRight(name, ". ") != name || strings.TrimLeft(name, " ") != name:
		return fmt.Errorf("file name %q has leading spaces or trailing dots or spaces", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("file name %q contains a control character", name)
		}
	}
	base, _, _ := strings.Cut(strings.ToUpper(name), ".")
	switch base {
	case "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		return fmt.Errorf("file name %q is a Windows device name", name)
	}
	return nil
}
