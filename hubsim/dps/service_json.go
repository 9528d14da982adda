package dps

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// The DPS service API's enrollment documents (api-version 2021-10-01),
// reduced to what the simulator models. IssueCertificates is a simulator
// extension: Azure configures CSR issuance outside the enrollment.
type (
	enrollmentDoc struct {
		RegistrationID    string     `json:"registrationId,omitempty"`
		EnrollmentGroupID string     `json:"enrollmentGroupId,omitempty"`
		Attestation       attestDoc  `json:"attestation"`
		ProvisioningState string     `json:"provisioningStatus,omitempty"` // enabled | disabled
		Reprovision       *reprovDoc `json:"reprovisionPolicy,omitempty"`
		IssueCertificates bool       `json:"issueCertificates,omitempty"`
		ETag              string     `json:"etag,omitempty"`
	}
	attestDoc struct {
		Type         string     `json:"type"` // x509 | symmetricKey
		X509         *x509Doc   `json:"x509,omitempty"`
		SymmetricKey *symKeyDoc `json:"symmetricKey,omitempty"`
	}
	x509Doc struct {
		ClientCertificates  *certPairDoc `json:"clientCertificates,omitempty"`
		SigningCertificates *certPairDoc `json:"signingCertificates,omitempty"`
	}
	certPairDoc struct {
		Primary   *certDoc `json:"primary,omitempty"`
		Secondary *certDoc `json:"secondary,omitempty"`
	}
	certDoc struct {
		Certificate string `json:"certificate,omitempty"` // PEM, or base64 of PEM or DER
	}
	symKeyDoc struct {
		PrimaryKey   string `json:"primaryKey"`
		SecondaryKey string `json:"secondaryKey"`
	}
	reprovDoc struct {
		UpdateHubAssignment bool `json:"updateHubAssignment"`
		MigrateDeviceData   bool `json:"migrateDeviceData"`
	}
)

// toEnrollment converts a document; id is the id from the URL path.
func (d enrollmentDoc) toEnrollment(id string, group bool) (Enrollment, error) {
	e := Enrollment{ID: id, Attestation: Attestation(d.Attestation.Type), IssueCertificates: d.IssueCertificates,
		Disabled: strings.EqualFold(d.ProvisioningState, "disabled"), Reprovision: ReprovisionKeepTwin}
	if d.Reprovision != nil && !d.Reprovision.MigrateDeviceData {
		e.Reprovision = ReprovisionReset
	}
	switch e.Attestation {
	case AttestSymmetricKey:
		if k := d.Attestation.SymmetricKey; k != nil {
			e.PrimaryKey, e.SecondaryKey = k.PrimaryKey, k.SecondaryKey
		}
	case AttestX509:
		certs, err := d.Attestation.X509.certificates(group)
		if err != nil {
			return e, err
		}
		if group {
			e.CAs = certs
		} else {
			e.Certificates = certs
		}
	}
	return e, e.validate(group)
}

func (x *x509Doc) certificates(group bool) ([]*x509.Certificate, error) {
	if x == nil {
		return nil, errors.New("x509 attestation without certificates")
	}
	pair := x.ClientCertificates
	if group {
		pair = x.SigningCertificates
	}
	if pair == nil {
		return nil, errors.New("x509 attestation without certificates")
	}
	var out []*x509.Certificate
	for _, c := range []*certDoc{pair.Primary, pair.Secondary} {
		if c == nil || c.Certificate == "" {
			continue
		}
		cert, err := parseCertText(c.Certificate)
		if err != nil {
			return nil, err
		}
		out = append(out, cert)
	}
	return out, nil
}

// parseCertText reads a certificate given as PEM, base64 PEM or base64 DER.
func parseCertText(s string) (*x509.Certificate, error) {
	raw := []byte(s)
	if !strings.Contains(s, "-----BEGIN") {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil {
			return nil, errors.New("certificate is neither PEM nor base64")
		}
		raw = b
	}
	if block, _ := pem.Decode(raw); block != nil {
		raw = block.Bytes
	}
	c, err := x509.ParseCertificate(raw)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return c, nil
}

// fromEnrollment renders an enrollment as the service API returns it;
// keys are returned as stored (the owner policy may read them).
func fromEnrollment(e Enrollment, group bool) enrollmentDoc {
	d := enrollmentDoc{Attestation: attestDoc{Type: string(e.Attestation)}, ProvisioningState: "enabled",
		IssueCertificates: e.IssueCertificates, ETag: fmt.Sprintf("%q", e.ID),
		Reprovision: &reprovDoc{UpdateHubAssignment: true, MigrateDeviceData: e.Reprovision != ReprovisionReset}}
	if group {
		d.EnrollmentGroupID = e.ID
	} else {
		d.RegistrationID = e.ID
	}
	if e.Disabled {
		d.ProvisioningState = "disabled"
	}
	switch e.Attestation {
	case AttestSymmetricKey:
		d.Attestation.SymmetricKey = &symKeyDoc{PrimaryKey: e.PrimaryKey, SecondaryKey: e.SecondaryKey}
	case AttestX509:
		certs := e.Certificates
		if group {
			certs = e.CAs
		}
		pair := &certPairDoc{}
		for i, c := range certs[:min(2, len(certs))] {
			cd := &certDoc{Certificate: base64.StdEncoding.EncodeToString(c.Raw)}
			if i == 0 {
				pair.Primary = cd
			} else {
				pair.Secondary = cd
			}
		}
		d.Attestation.X509 = &x509Doc{ClientCertificates: pair}
		if group {
			d.Attestation.X509 = &x509Doc{SigningCertificates: pair}
		}
	}
	return d
}
