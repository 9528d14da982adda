package hub

import (
	"errors"
	"fmt"
	"strings"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Conditions the agent's reconnect policy branches on.
var (
	// ErrUnauthorized: the hub refused the device's identity (CONNACK 4 or
	// 5: unknown device, wrong or revoked certificate). Retrying quickly
	// cannot help; re-provisioning might.
	ErrUnauthorized = errors.New("hub refused the device identity")
	// ErrThrottled: the hub asked the device to slow down (429, 403002
	// quota exceeded, CONNACK 3 server unavailable).
	ErrThrottled = errors.New("hub is throttling the device")
)

// classify wraps err with the condition it shows, if any.
func classify(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, packets.ErrorRefusedNotAuthorised), errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	case errors.Is(err, packets.ErrorRefusedServerUnavailable):
		return fmt.Errorf("%w: %w", ErrThrottled, err)
	}
	// The SDK reports twin errors only as text: "request failed with 429
	// response code", without the body. A twin request answered 403 is the
	// daily message quota (403002 IotHubQuotaExceeded, PROTOCOL.md §5): the
	// other 403 codes concern C2D queues and file uploads, not twins.
	msg := err.Error()
	if strings.Contains(msg, "with 429 response") || strings.Contains(msg, "with 403 response") || strings.Contains(msg, "403002") {
		return fmt.Errorf("%w: %w", ErrThrottled, err)
	}
	if strings.Contains(msg, "with 401 response") || strings.Contains(msg, "with 404 response") {
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return err
}
