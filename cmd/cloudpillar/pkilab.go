package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cloudpillar/cloudpillar/agent/provision"
	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// Files `pki bootstrap` writes for one device (DIR/...):
//
//	bootstrap.pem      the bootstrap chain: leaf (CN = registration id), bootstrap CA, intermediate
//	bootstrap-key.pem  its private key (0600)
//	server-ca.pem      the trust anchor of the lab's hub and DPS server certificates
const (
	bootstrapCertFile = "bootstrap.pem"
	bootstrapKeyFile  = "bootstrap-key.pem"
	serverCAFile      = "server-ca.pem"
	bootstrapDir      = "bootstrap"
)

// runPKIInit implements `cloudpillar pki init [--out DIR]`: a fresh lab
// PKI whose operational issuing CA doubles as the hub CA of DIR, so
// `cloudpillar hub --state DIR` trusts operational certificates only.
func runPKIInit(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("pki init", flag.ContinueOnError)
	flags.SetOutput(stderr)
	out := flags.String("out", defaultStateDir, "lab `DIR` (also usable as `cloudpillar hub --state DIR`)")
	keyType := flags.String("key-type", string(testpki.ECDSAP256), "key `TYPE` of the root, intermediate and bootstrap CAs: ecdsa-p256, ecdsa-p384, rsa-2048")
	opKeyType := flags.String("operational-key-type", string(testpki.ECDSAP384), "key `TYPE` of the operational issuing CA")
	force := flags.Bool("force", false, "replace an existing lab or hub CA in DIR (devices issued from it stop working)")
	if help, err := parseCommandFlags(flags, args, "pki init"); help || err != nil {
		return err
	}
	opts, err := labOptions(*keyType, *opKeyType)
	if err != nil {
		return err
	}
	if !*force && (testpki.HasLab(*out) || fileExists(filepath.Join(*out, testpki.CACertFile))) {
		return fmt.Errorf("pki init: %s already holds a CA; pass --force to replace it", *out)
	}
	lab, err := testpki.NewLabPKI(opts)
	if err != nil {
		return fmt.Errorf("pki init: %w", err)
	}
	if err := lab.Save(*out); err != nil {
		return fmt.Errorf("pki init: %w", err)
	}
	fmt.Fprintf(stdout, "lab PKI written to %s:\n", *out)
	fmt.Fprintf(stdout, "  root %s, intermediate %s\n", testpki.RootCertFile, testpki.IntermediateCertFile)
	fmt.Fprintf(stdout, "  bootstrap issuing CA %s (trusted by DPS only; chain in %s)\n", testpki.BootstrapCertFile, testpki.BootstrapChainFile)
	fmt.Fprintf(stdout, "  operational issuing CA %s (trusted by the hub)\n", testpki.OperationalCertFile)
	fmt.Fprintf(stdout, "private keys are mode 0600; next: cloudpillar pki bootstrap --id <REG> --state %s\n", *out)
	return nil
}

func labOptions(keyType, opKeyType string) (testpki.LabOptions, error) {
	kt, err := testpki.ParseKeyType(keyType)
	if err != nil {
		return testpki.LabOptions{}, fmt.Errorf("%w: pki init: --key-type: %v", errUsage, err)
	}
	okt, err := testpki.ParseKeyType(opKeyType)
	if err != nil {
		return testpki.LabOptions{}, fmt.Errorf("%w: pki init: --operational-key-type: %v", errUsage, err)
	}
	return testpki.LabOptions{KeyType: kt, OperationalKeyType: okt}, nil
}

// runPKIBootstrap implements `cloudpillar pki bootstrap --id REG`.
func runPKIBootstrap(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("pki bootstrap", flag.ContinueOnError)
	flags.SetOutput(stderr)
	id := flags.String("id", "", "registration `ID` (the certificate's CN; required)")
	state := flags.String("state", defaultStateDir, "lab `DIR` made by `cloudpillar pki init`")
	out := flags.String("out", "", "output `DIR` (default <state>/bootstrap/<id>)")
	keyType := flags.String("key-type", string(testpki.ECDSAP256), "device key `TYPE`: ecdsa-p256, ecdsa-p384, rsa-2048")
	if help, err := parseCommandFlags(flags, args, "pki bootstrap"); help || err != nil {
		return err
	}
	if *id == "" {
		return fmt.Errorf("%w: pki bootstrap: --id is required", errUsage)
	}
	if err := provision.ValidateRegistrationID(*id); err != nil {
		return fmt.Errorf("%w: pki bootstrap: --id: %v", errUsage, err)
	}
	kt, err := testpki.ParseKeyType(*keyType)
	if err != nil {
		return fmt.Errorf("%w: pki bootstrap: --key-type: %v", errUsage, err)
	}
	if *out == "" {
		*out = filepath.Join(*state, bootstrapDir, *id)
	}
	if !testpki.HasLab(*state) {
		return fmt.Errorf("pki bootstrap: no lab PKI in %s: run `cloudpillar pki init --out %s` first", *state, *state)
	}
	lab, err := testpki.LoadLabPKI(*state)
	if err != nil {
		return fmt.Errorf("pki bootstrap: %w", err)
	}
	if err := writeBootstrap(lab, *id, kt, *out); err != nil {
		return fmt.Errorf("pki bootstrap %s: %w", *id, err)
	}
	fmt.Fprintf(stdout, "bootstrap certificate for %s written to %s (%s, %s, %s)\n", *id, *out, bootstrapCertFile, bootstrapKeyFile, serverCAFile)
	return nil
}

// writeBootstrap issues id's bootstrap credential and writes it into dir:
// the key (0600) first, then the chain and the server trust anchor.
func writeBootstrap(lab *testpki.LabPKI, id string, kt testpki.KeyType, dir string) error {
	cred, err := lab.IssueBootstrap(id, kt)
	if err != nil {
		return err
	}
	chainPEM, keyPEM, err := cred.PEM()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{bootstrapKeyFile, keyPEM, 0o600},
		{bootstrapCertFile, chainPEM, 0o644},
		{serverCAFile, lab.Operational.CertPEM, 0o644},
	}
	for _, f := range files {
		if err := testpki.WriteFile(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return err
		}
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
