package dps_test

import (
	"crypto/ecdsa"
	"errors"
	"os"

	"github.com/cloudpillar/cloudpillar/internal/testpki"
)

// readKeyScalar reads a device key file and returns its private scalar.
func readKeyScalar(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := testpki.ParsePrivateKey(raw)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an ECDSA key")
	}
	return ec.D.Bytes(), nil
}
