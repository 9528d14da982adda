package broker

import (
	"github.com/cloudpillar/cloudpillar/hubsim/methods"
	"github.com/cloudpillar/cloudpillar/hubsim/topic"
)

// Methods is the table the hook completes calls in.
func (h *Hook) Methods() *methods.Table { return h.cfg.Methods }

// CallMethod writes a direct-method request (QoS 0, PROTOCOL.md §2.5) to
// the identity's current connection and returns the pending call; its
// response is accepted only from that connection. It fails with
// methods.ErrDeviceNotOnline when the identity is not connected or has not
// subscribed to `$iothub/methods/POST/#`. The caller waits on the call and
// must End it.
func (h *Hook) CallMethod(identity, name string, payload []byte) (*methods.Call, error) {
	c := h.conn(identity)
	if c == nil {
		return nil, methods.NotOnline(identity)
	}
	if _, ok := c.cl.State.Subscriptions.Get(FilterMethods); !ok {
		return nil, methods.NotOnline(identity)
	}
	call := h.cfg.Methods.Begin(c.cl)
	if !h.write(c.cl, 0, 0, topic.MethodRequest(name, call.RID()), payload) {
		h.cfg.Methods.End(call)
		return nil, methods.NotOnline(identity)
	}
	return call, nil
}
