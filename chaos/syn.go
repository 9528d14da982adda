package chaos

import (
	"time"
)

// synInitialRTO is the first SYN retransmission timeout (Linux and
// Windows both start at 1 s and double it on each retry, RFC 6298).
const synInitialRTO = time.Second

// synRetransmitDelay is how long after now a connect that started at start
// and found its network blackholed completes once the network is back:
// SYNs leave at start, start+1 s, start+3 s, start+7 s, ... (the timeout
// doubles), and the connect completes with the first SYN sent at or after
// now. It is zero when now is itself a retransmission instant.
func synRetransmitDelay(start, now time.Time) time.Duration {
	if !now.After(start) {
		return 0
	}
	next, rto := start, synInitialRTO
	for next.Before(now) {
		next = next.Add(rto)
		rto *= 2
	}
	return next.Sub(now)
}
