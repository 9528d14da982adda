package hubsim

import (
	"context"
	"time"

	"github.com/cloudpillar/cloudpillar/hubsim/methods"
)

// InvokeMethod calls a direct method on a device (or a module, with id
// `{device}/{module}`) and waits up to timeout (0 means 30 s, at most
// 300 s) for its answer: the status the device chose and its payload. The
// request goes with QoS 0 to the device's current connection only if it
// subscribed `$iothub/methods/POST/#`; an empty payload is sent as `null`.
// Errors are *methods.Error: 404001 DeviceNotFound, 404103
// DeviceNotOnline, 504101 GatewayTimeout, 400004 for a bad name, payload
// or timeout; or ctx's error.
func (h *Hub) InvokeMethod(ctx context.Context, deviceID, name string, payload []byte, timeout time.Duration) (status int, response []byte, err error) {
	timeout, payload, err = methods.Validate(name, payload, timeout)
	if err != nil {
		return 0, nil, err
	}
	if _, err := h.registry.Get(deviceID); err != nil {
		return 0, nil, methods.NotFound(deviceID)
	}
	call, err := h.hook.CallMethod(deviceID, name, payload)
	if err != nil {
		return 0, nil, err
	}
	defer h.methods.End(call)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-call.Done():
		return r.Status, r.Payload, nil
	case <-t.C:
		return 0, nil, methods.Timeout(deviceID, name, timeout)
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
}

// PendingMethodCalls returns how many invocations wait for an answer.
func (h *Hub) PendingMethodCalls() int { return h.methods.Pending() }
