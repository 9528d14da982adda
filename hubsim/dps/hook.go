package dps

import (
	"bytes"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cloudpillar/cloudpillar/agent/provision"
)

// hook is the mochi hook that turns the broker into a DPS. Nothing is
// routed through the broker: requests are answered on the asking
// connection only.
type hook struct {
	mqtt.HookBase
	s *Server

	mu    sync.Mutex
	conns map[*mqtt.Client]attested // guarded by mu: what each live connection proved
}

func newHook(s *Server) *hook {
	return &hook{s: s, conns: make(map[*mqtt.Client]attested)}
}

func (h *hook) ID() string { return "dps" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnectAuthenticate,
		mqtt.OnACLCheck,
		mqtt.OnDisconnect,
		mqtt.OnPublish,
	}, []byte{b})
}

// OnConnectAuthenticate admits a registration only with a credential that
// matches an enrollment; false makes mochi answer CONNACK "not authorized".
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	att, err := h.s.attest(pk.Connect.ClientIdentifier, string(pk.Connect.Username), pk.Connect.Password, cl.Net.Conn)
	if err != nil {
		h.s.cfg.Logger.Warn("dps refused a device", "client", pk.Connect.ClientIdentifier, "remote", cl.Net.Remote, "reason", err.Error())
		return false
	}
	h.mu.Lock()
	h.conns[cl] = att
	h.mu.Unlock()
	return true
}

// OnACLCheck allows subscribing to the response filter and publishing
// the two request topics only.
func (h *hook) OnACLCheck(_ *mqtt.Client, topic string, write bool) bool {
	if !write {
		return topic == provision.ResponseFilter
	}
	_, err := provision.ParseRequestTopic(topic)
	return err == nil
}

func (h *hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.mu.Lock()
	delete(h.conns, cl)
	h.mu.Unlock()
}

// OnPublish answers register and poll requests.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	req, err := provision.ParseRequestTopic(pk.TopicName)
	if err != nil {
		return pk, packets.CodeSuccessIgnore
	}
	h.mu.Lock()
	att, ok := h.conns[cl]
	h.mu.Unlock()
	if !ok {
		return pk, packets.ErrRejectPacket // never routed; cannot happen after CONNECT
	}
	var r reply
	if req.Kind == provision.KindRegister {
		r = h.s.register(att, pk.Payload)
	} else {
		r = h.s.poll(att, req.OperationID)
	}
	h.write(cl, provision.ResponseTopic(r.status, req.RID, r.retryAfter), r.body)
	return pk, packets.CodeSuccessIgnore
}

// write sends a QoS 0 answer to this connection only, if it subscribed to
// the response filter.
func (h *hook) write(cl *mqtt.Client, topic string, body []byte) {
	if _, ok := cl.State.Subscriptions.Get(provision.ResponseFilter); !ok {
		h.s.cfg.Logger.Debug("dps answer dropped: not subscribed", "client", cl.ID)
		return
	}
	err := cl.WritePacket(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish},
		TopicName:   topic,
		Payload:     body,
	})
	if err != nil {
		h.s.cfg.Logger.Debug("dps answer not written", "client", cl.ID, "err", err)
	}
}
