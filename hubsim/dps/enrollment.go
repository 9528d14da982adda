package dps

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Attestation mechanisms.
type Attestation string

// The attestation mechanisms DPS supports over MQTT (TPM is not).
const (
	AttestX509         Attestation = "x509"
	AttestSymmetricKey Attestation = "symmetricKey"
)

// ReprovisionPolicy says what happens to a device that registers again.
type ReprovisionPolicy string

// Reprovisioning policies (Azure: updateHubAssignment with
// migrateDeviceData true or false).
const (
	// ReprovisionKeepTwin keeps the device's twin and state (substatus
	// deviceDataMigrated). The default.
	ReprovisionKeepTwin ReprovisionPolicy = "keepTwin"
	// ReprovisionReset starts the device afresh (substatus
	// deviceDataReset).
	ReprovisionReset ReprovisionPolicy = "reset"
)

// Enrollment is an individual enrollment (ID = registration id) or an
// enrollment group (ID = enrollment group id).
type Enrollment struct {
	ID          string
	Attestation Attestation
	// CAs: X.509 groups (and optionally individual enrollments) accept a
	// leaf that chains to one of them.
	CAs []*x509.Certificate
	// Certificates: X.509 individual enrollments accept exactly these
	// leaf certificates (compared by SHA-256 thumbprint).
	Certificates []*x509.Certificate
	// PrimaryKey and SecondaryKey (base64) are the device key of an
	// individual symmetric-key enrollment, or the group key from which
	// device keys are derived.
	PrimaryKey, SecondaryKey string
	// Disabled enrollments authenticate but are answered "disabled".
	Disabled bool
	// IssueCertificates honours a "csr" in the register request.
	IssueCertificates bool
	Reprovision       ReprovisionPolicy // default ReprovisionKeepTwin
}

// ErrEnrollmentNotFound says no enrollment has the asked id.
var ErrEnrollmentNotFound = errors.New("enrollment not found")

func (e *Enrollment) validate(group bool) error {
	switch {
	case e.ID == "":
		return errors.New("enrollment: empty id")
	case e.Attestation == AttestX509 && group && len(e.CAs) == 0:
		return fmt.Errorf("enrollment group %s: X.509 attestation needs a CA", e.ID)
	case e.Attestation == AttestX509 && !group && len(e.CAs)+len(e.Certificates) == 0:
		return fmt.Errorf("enrollment %s: X.509 attestation needs a certificate or a CA", e.ID)
	case e.Attestation == AttestSymmetricKey && e.PrimaryKey == "":
		return fmt.Errorf("enrollment %s: symmetric-key attestation needs a key", e.ID)
	case e.Attestation != AttestX509 && e.Attestation != AttestSymmetricKey:
		return fmt.Errorf("enrollment %s: unknown attestation %q", e.ID, e.Attestation)
	}
	if e.Reprovision == "" {
		e.Reprovision = ReprovisionKeepTwin
	}
	return nil
}

// enrollmentKey identifies an enrollment in the store.
type enrollmentKey struct {
	group bool
	id    string // lower-cased: DPS ids are case-insensitive
}

// enrollments is the enrollment store.
type enrollments struct {
	mu  sync.RWMutex
	all map[enrollmentKey]Enrollment // guarded by mu
}

func newEnrollments() *enrollments {
	return &enrollments{all: make(map[enrollmentKey]Enrollment)}
}

func (s *enrollments) put(e Enrollment, group bool) error {
	if err := e.validate(group); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all[enrollmentKey{group, strings.ToLower(e.ID)}] = e
	return nil
}

func (s *enrollments) get(group bool, id string) (Enrollment, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.all[enrollmentKey{group, strings.ToLower(id)}]
	return e, ok
}

func (s *enrollments) delete(group bool, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := enrollmentKey{group, strings.ToLower(id)}
	if _, ok := s.all[k]; !ok {
		return fmt.Errorf("%s: %w", id, ErrEnrollmentNotFound)
	}
	delete(s.all, k)
	return nil
}

// groups returns the groups with attestation a, ordered by id so that
// matching is deterministic.
func (s *enrollments) groups(a Attestation) []Enrollment {
	s.mu.RLock()
	var out []Enrollment
	for k, e := range s.all {
		if k.group && e.Attestation == a {
			out = append(out, e)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AddEnrollment adds or replaces an individual enrollment.
func (s *Server) AddEnrollment(e Enrollment) error { return s.enr.put(e, false) }

// AddGroup adds or replaces an enrollment group.
func (s *Server) AddGroup(e Enrollment) error { return s.enr.put(e, true) }

// Enrollment returns an individual enrollment.
func (s *Server) Enrollment(registrationID string) (Enrollment, bool) {
	return s.enr.get(false, registrationID)
}

// Group returns an enrollment group.
func (s *Server) Group(id string) (Enrollment, bool) { return s.enr.get(true, id) }

// DeleteEnrollment removes an individual enrollment.
func (s *Server) DeleteEnrollment(registrationID string) error {
	return s.enr.delete(false, registrationID)
}

// DeleteGroup removes an enrollment group.
func (s *Server) DeleteGroup(id string) error { return s.enr.delete(true, id) }

// SetDisabled enables or disables an individual enrollment (group false)
// or an enrollment group.
func (s *Server) SetDisabled(group bool, id string, disabled bool) error {
	s.enr.mu.Lock()
	defer s.enr.mu.Unlock()
	k := enrollmentKey{group, strings.ToLower(id)}
	e, ok := s.enr.all[k]
	if !ok {
		return fmt.Errorf("%s: %w", id, ErrEnrollmentNotFound)
	}
	e.Disabled = disabled
	s.enr.all[k] = e
	return nil
}
