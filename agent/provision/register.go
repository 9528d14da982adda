package provision

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudpillar/cloudpillar/agent/backoff"
)

// Result is a completed registration.
type Result struct {
	RegistrationID string
	AssignedHub    string // the IoT Hub host name to connect to
	DeviceID       string
	Substatus      string // initialAssignment, deviceDataMigrated, ...
	OperationID    string
	Payload        json.RawMessage // what DPS returned as custom payload
	// IssuedCertificateChain is the operational certificate chain DPS
	// issued for Config.CSR: DER, leaf first. Empty without a CSR.
	IssuedCertificateChain [][]byte
	// State is the final registration state as DPS sent it.
	State RegistrationState
}

// Register runs one registration: connect with the bootstrap credential,
// register, poll until DPS answers assigned (or failed, disabled, an error,
// or Config.Timeout), disconnect. Errors name the DPS status and errorCode
// and match the sentinels (ErrUnauthorized, ErrDisabled, ErrThrottled...).
func Register(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	log := cfg.Logger.With("registration", cfg.RegistrationID)
	log.Info("registering with dps", "address", cfg.Address, "csr", len(cfg.CSR) > 0)
	s, err := connect(ctx, &cfg)
	if err != nil {
		return nil, fmt.Errorf("register %s at %s: %w", cfg.RegistrationID, cfg.Address, err)
	}
	defer s.close()
	op, err := s.run(ctx, &cfg)
	if err != nil {
		return nil, fmt.Errorf("register %s at %s: %w", cfg.RegistrationID, cfg.Address, err)
	}
	res, err := resultFrom(op)
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", cfg.RegistrationID, err)
	}
	log.Info("dps assigned the device", "hub", res.AssignedHub, "device", res.DeviceID,
		"substatus", res.Substatus, "certificates", len(res.IssuedCertificateChain))
	return res, nil
}

// run is the register/poll loop on a connected session.
func (s *session) run(ctx context.Context, cfg *Config) (*OperationStatus, error) {
	req := RegisterRequest{RegistrationID: cfg.RegistrationID, Payload: cfg.Payload}
	if len(cfg.CSR) > 0 {
		req.CSR = base64.StdEncoding.EncodeToString(cfg.CSR)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode register request: %w", err)
	}
	var opID string
	var throttled error // the last 429/5xx answer, reported if time runs out
	for {
		rid := newRID()
		topic, payload := RegisterTopic(rid), body
		if opID != "" {
			topic, payload = PollTopic(rid, opID), []byte(" ") // Node sends one space
		}
		resp, rbody, err := s.request(ctx, topic, payload, rid)
		if err != nil {
			return nil, withLast(err, throttled)
		}
		st, err := next(resp, rbody, opID, cfg.PollInterval)
		if err != nil {
			return nil, err
		}
		if st.done != nil {
			return st.done, nil
		}
		if resp.Status >= 300 {
			throttled = errorFrom(resp, rbody)
		}
		s.log.Debug("dps answered", "status", resp.Status, "operation", st.operationID, "wait", st.wait)
		opID = st.operationID
		if err := backoff.Sleep(ctx, st.wait); err != nil {
			return nil, withLast(err, throttled)
		}
	}
}

func withLast(err, last error) error {
	if last == nil {
		return err
	}
	return fmt.Errorf("%w (last dps answer: %w)", err, last)
}

func resultFrom(op *OperationStatus) (*Result, error) {
	rs := op.RegistrationState
	res := &Result{
		RegistrationID: rs.RegistrationID, AssignedHub: rs.AssignedHub, DeviceID: rs.DeviceID,
		Substatus: rs.Substatus, OperationID: op.OperationID, Payload: rs.Payload, State: *rs,
	}
	for i, c := range rs.IssuedCertificateChain {
		der, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return nil, errors.New("issued certificate " + fmt.Sprint(i) + " is not base64")
		}
		res.IssuedCertificateChain = append(res.IssuedCertificateChain, der)
	}
	return res, nil
}

// newRID makes a request id: a random UUID, as the SDKs send.
func newRID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
