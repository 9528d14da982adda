package main

import (
	"crypto/x509"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

func TestPKIInitThenBootstrap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	if err := runPKI(t.Context(), []string{"init", "--out", dir}, io.Discard, io.Discard); err != nil {
		t.Fatalf("pki init: %v", err)
	}
	lab, err := testpki.LoadLabPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "dev")
	args := []string{"bootstrap", "--id", "carto-0001", "--state", dir, "--out", out}
	if err := runPKI(t.Context(), args, io.Discard, io.Discard); err != nil {
		t.Fatalf("pki bootstrap: %v", err)
	}
	st, err := os.Stat(filepath.Join(out, bootstrapKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap key: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	raw, err := os.ReadFile(filepath.Join(out, bootstrapCertFile))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := testpki.ParseCerts(raw)
	if err != nil {
		t.Fatal(err)
	}
	if cn := chain[0].Subject.CommonName; cn != "carto-0001" {
		t.Errorf("bootstrap CN = %q, want the registration id", cn)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: lab.BootstrapRoots(), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := chain[0].Verify(opts); err != nil {
		t.Errorf("bootstrap chain does not verify against the bootstrap CA: %v", err)
	}
	opts.Roots = lab.ServerRoots()
	if _, err := chain[0].Verify(opts); err == nil {
		t.Error("bootstrap chain verifies against the operational CA the hub trusts")
	}
	hubCA, err := testpki.LoadCA(dir)
	if err != nil || !hubCA.Cert.Equal(lab.Operational.Cert) {
		t.Errorf("the lab dir's hub CA is not the operational CA (err %v)", err)
	}
}

func TestPKIInitRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	if err := runPKI(t.Context(), []string{"init", "--out", dir}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	err := runPKI(t.Context(), []string{"init", "--out", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second pki init = %v, want a refusal naming --force", err)
	}
	if err := runPKI(t.Context(), []string{"init", "--out", dir, "--force"}, io.Discard, io.Discard); err != nil {
		t.Fatalf("pki init --force: %v", err)
	}
}

func TestPKILabUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"init bad key type", []string{"init", "--out", dir, "--key-type", "dsa"}, `unknown key type "dsa"`},
		{"bootstrap missing --id", []string{"bootstrap", "--state", dir}, "pki bootstrap: --id is required"},
		{"bootstrap bad --id", []string{"bootstrap", "--id", "a/b", "--state", dir}, `character '/' is not allowed`},
		{"bootstrap bad key type", []string{"bootstrap", "--id", "r1", "--key-type", "x"}, `unknown key type "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := runPKI(t.Context(), tc.args, io.Discard, io.Discard)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("runPKI(%q) = %v, want errUsage containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
}

func TestPKIBootstrapWithoutLab(t *testing.T) {
	dir := t.TempDir()
	err := runPKI(t.Context(), []string{"bootstrap", "--id", "r1", "--state", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "run `cloudpillar pki init --out "+dir+"` first") {
		t.Fatalf("pki bootstrap without a lab = %v", err)
	}
}
