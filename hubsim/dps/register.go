package dps

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/provision"
)

// reply is one answer on the response topic.
type reply struct {
	status     int
	body       []byte
	retryAfter time.Duration // < 0: no retry-after parameter
}

func (s *Server) errorReply(e *Error, now time.Time) reply {
	ra := time.Duration(-1)
	if e.RetryAfter > 0 {
		ra = e.RetryAfter
	}
	return reply{status: e.Status, body: e.body(now, newID()), retryAfter: ra}
}

// register handles iotdps-register: it checks the request, decides the
// outcome at once (assignment, certificate issuance, hub registration)
// and answers 202 "assigning" with an operation id; polls see the outcome
// after AssignDelay.
func (s *Server) register(att attested, body []byte) reply {
	now := s.cfg.Now()
	if !s.throttle.admit(now) {
		return s.errorReply(&Error{Status: 429, Code: CodeThrottled,
			Message: "operations are being throttled", RetryAfter: s.cfg.Throttle.RetryAfter}, now)
	}
	req, e := s.checkRequest(att, body)
	if e == nil && s.cfg.OnRegister != nil {
		e = s.cfg.OnRegister(att.registrationID)
	}
	if e != nil {
		return s.errorReply(e, now)
	}
	enr, ok := s.enr.get(att.group, att.enrollmentID)
	if !ok {
		return s.errorReply(&Error{Status: 401, Code: CodeUnauthorized, Message: "the enrollment no longer exists"}, now)
	}
	result, e := s.assign(att, enr, req, now)
	if e != nil {
		s.cfg.Logger.Info("registration refused", "registration", att.registrationID, "status", e.Status, "reason", e.Message)
		return s.errorReply(e, now)
	}
	op := s.state.addOperation(att.registrationID, result, now.Add(s.cfg.AssignDelay), now)
	return reply{status: 202, retryAfter: s.cfg.RetryAfter,
		body: asciiJSON(provision.OperationStatus{OperationID: op.id, Status: provision.StatusAssigning})}
}

func (s *Server) checkRequest(att attested, body []byte) (provision.RegisterRequest, *Error) {
	var req provision.RegisterRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return req, badRequest("malformed register request")
	}
	if !strings.EqualFold(req.RegistrationID, att.registrationID) {
		return req, badRequest("body registration id %q is not the authenticated %q", req.RegistrationID, att.registrationID)
	}
	return req, nil
}

// assign decides a registration: disabled, or issue a certificate for the
// CSR, register the device at the hub and record the registration.
func (s *Server) assign(att attested, enr Enrollment, req provision.RegisterRequest, now time.Time) (provision.OperationStatus, *Error) {
	rs := s.baseState(att, req, now)
	if enr.Disabled {
		rs.Status = provision.StatusDisabled
		return provision.OperationStatus{Status: rs.Status, RegistrationState: &rs}, nil
	}
	if req.CSR != "" {
		if !enr.IssueCertificates {
			return provision.OperationStatus{}, badRequest("certificate issuance is not enabled for enrollment %s", enr.ID)
		}
		chain, e := s.issue(req.CSR, att.registrationID, now)
		if e != nil {
			return provision.OperationStatus{}, e
		}
		rs.IssuedCertificateChain = chain
	}
	prev, existed := s.state.registration(att.registrationID)
	reset := existed && enr.Reprovision == ReprovisionReset
	if s.cfg.Registrar != nil {
		if err := s.cfg.Registrar.AssignDevice(att.registrationID, reset); err != nil {
			s.cfg.Logger.Warn("hub registration failed", "device", att.registrationID, "err", err)
			rs.Status, rs.ErrorCode, rs.ErrorMessage = provision.StatusFailed, CodeInternal, "the hub refused the device registration"
			return provision.OperationStatus{Status: rs.Status, RegistrationState: &rs}, nil
		}
	}
	rs.Status, rs.AssignedHub, rs.DeviceID = provision.StatusAssigned, s.cfg.AssignedHub, att.registrationID
	rs.Substatus = substatus(existed, reset)
	if existed {
		rs.CreatedDateTimeUTC = prev.CreatedDateTimeUTC
	}
	s.state.saveRegistration(rs)
	s.cfg.Logger.Info("device assigned", "registration", att.registrationID, "hub", rs.AssignedHub,
		"substatus", rs.Substatus, "issued", len(rs.IssuedCertificateChain) > 0)
	return provision.OperationStatus{Status: rs.Status, RegistrationState: &rs}, nil
}

func (s *Server) baseState(att attested, req provision.RegisterRequest, now time.Time) provision.RegistrationState {
	rs := provision.RegistrationState{
		RegistrationID: att.registrationID, CreatedDateTimeUTC: timestamp(now),
		LastUpdatedDateTimeUTC: timestamp(now), ETag: fmt.Sprintf("%q", newID()), Payload: req.Payload,
	}
	var g provision.AttestationGroup
	if att.group {
		g.EnrollmentGroupID = att.enrollmentID
	}
	if att.method == AttestX509 {
		rs.X509 = &g
	} else {
		rs.SymmetricKey = &g
	}
	return rs
}

func substatus(existed, reset bool) string {
	switch {
	case !existed:
		return provision.SubstatusInitialAssignment
	case reset:
		return provision.SubstatusDeviceDataReset
	}
	return provision.SubstatusDeviceDataMigrated
}

// poll handles iotdps-get-operationstatus.
func (s *Server) poll(att attested, opID string) reply {
	now := s.cfg.Now()
	op, ok := s.state.operation(opID, now)
	if !ok || !strings.EqualFold(op.regID, att.registrationID) {
		return s.errorReply(&Error{Status: 404, Code: CodeNotFound, Message: "operation not found"}, now)
	}
	if now.Before(op.readyAt) {
		st := provision.OperationStatus{OperationID: op.id, Status: provision.StatusAssigning,
			RegistrationState: &provision.RegistrationState{RegistrationID: att.registrationID, Status: provision.StatusAssigning}}
		return reply{status: 202, body: asciiJSON(st), retryAfter: s.cfg.RetryAfter}
	}
	return reply{status: 200, body: asciiJSON(op.result), retryAfter: -1}
}
