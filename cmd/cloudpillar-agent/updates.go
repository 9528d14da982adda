package main

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
)

// Default folders of the updates section, next to the store.
const (
	defaultUpdateWorkDirName = "updates"   // downloads
	defaultInstallerDirName  = "installer" // the installer's slots and state
)

// updatesFields is the updates section: signed A/B software updates
// through the twin's deviceUpdate component (agent/update).
type updatesFields struct {
	RootsFile string
	Device    updateDeviceFields
	WorkDir   string
	Installer installerFields
}

// updateDeviceFields are what every update manifest must name.
type updateDeviceFields struct {
	Manufacturer, Model, HardwareID string
}

// installerFields configure the script installer (agent/update/scripts).
type installerFields struct {
	Dir            string
	TimeoutMinutes int
	Env            []string
}

// updateSettings are the checked updates section; the installer is made
// when the service starts (it needs the logger).
type updateSettings struct {
	RootsFile        string
	Roots            update.Roots
	Device           update.Device
	Dir              string         // downloads
	InstallerDir     string         // the installer's slots and state
	InstallerTimeout time.Duration  // 0: the installer's default (10 min)
	InstallerEnv     []string       // KEY=VALUE added to the installer programs' environment
	DownloadRoots    *x509.CertPool // CAs for payload downloads: the system's plus caFile's
}

// updatesFields enables updates: it is called when the key appears.
func (fc *fileConfig) updatesFields() []field {
	fc.Updates = &updatesFields{}
	u := fc.Updates
	return []field{
		{name: "rootsFile", set: setString(&u.RootsFile)},
		{name: "device", section: u.Device.fields},
		{name: "workDir", set: setString(&u.WorkDir)},
		{name: "installer", section: u.Installer.fields},
	}
}

func (f *updateDeviceFields) fields() []field {
	return []field{
		{name: "manufacturer", set: setString(&f.Manufacturer)},
		{name: "model", set: setString(&f.Model)},
		{name: "hardwareId", set: setString(&f.HardwareID)},
	}
}

func (f *installerFields) fields() []field {
	return []field{
		{name: "dir", set: setString(&f.Dir)},
		{name: "timeoutMinutes", set: setInt(&f.TimeoutMinutes, 1, 24*60)},
		{name: "env", set: setStrings(&f.Env, checkEnv)},
	}
}

// checkEnv accepts KEY=VALUE with a non-empty key outside the installer's
// reserved CLOUDPILLAR_ prefix.
func checkEnv(s string) error {
	k, _, ok := strings.Cut(s, "=")
	switch {
	case !ok || k == "" || strings.ContainsAny(k, " \t") || strings.ContainsRune(s, 0):
		return fmt.Errorf("%q is not KEY=VALUE", s)
	case strings.HasPrefix(strings.ToUpper(k), "CLOUDPILLAR_"):
		return fmt.Errorf("%q: the CLOUDPILLAR_ prefix is reserved for the installer's own variables", k)
	}
	return nil
}

// updateSettings checks the section and loads the trusted root set. No
// section: nil (updates off).
func (fc *fileConfig) updateSettings(d *decoder, dir, stateDir string) *updateSettings {
	u := fc.Updates
	if u == nil {
		return nil
	}
	s := &updateSettings{
		RootsFile:        resolve(dir, u.RootsFile),
		Device:           update.Device{Manufacturer: u.Device.Manufacturer, Model: u.Device.Model, HardwareID: u.Device.HardwareID},
		Dir:              orDefaultString(resolve(dir, u.WorkDir), filepath.Join(stateDir, defaultUpdateWorkDirName)),
		InstallerDir:     orDefaultString(resolve(dir, u.Installer.Dir), filepath.Join(stateDir, defaultInstallerDirName)),
		InstallerTimeout: time.Duration(u.Installer.TimeoutMinutes) * time.Minute,
		InstallerEnv:     u.Installer.Env,
	}
	required := [][2]string{
		{"updates.rootsFile", u.RootsFile},
		{"updates.device.manufacturer", u.Device.Manufacturer},
		{"updates.device.model", u.Device.Model},
		{"updates.device.hardwareId", u.Device.HardwareID},
	}
	for _, r := range required {
		if r[1] == "" {
			d.fail(r[0], "is required when updates is set")
		}
	}
	if filepath.Clean(s.InstallerDir) == filepath.Clean(s.Dir) {
		d.fail("updates.installer.dir", "%s is also the download folder (updates.workDir); the installer's slots need a folder of their own", s.InstallerDir)
	}
	if u.RootsFile != "" {
		roots, err := loadUpdateRoots(s.RootsFile)
		if err != nil {
			d.fail("updates.rootsFile", "%v", err)
		}
		s.Roots = roots
	}
	return s
}

// loadUpdateRoots reads and checks the trusted update root set (JSON, as
// update.ParseRoots takes it). A JSON syntax error names its line in the
// roots file.
func loadUpdateRoots(path string) (update.Roots, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return update.Roots{}, err
	}
	roots, err := update.ParseRoots(raw)
	if err != nil {
		return update.Roots{}, fmt.Errorf("%s%s: %v", path, jsonLine(raw, err), err)
	}
	return roots, nil
}

// jsonLine is ":N", the line of a JSON decoding error in raw, or "".
func jsonLine(raw []byte, err error) string {
	var off int64
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	default:
		return ""
	}
	line := 1
	for _, c := range raw[:min(int(off), len(raw))] {
		if c == '\n' {
			line++
		}
	}
	return fmt.Sprintf(":%d", line)
}
