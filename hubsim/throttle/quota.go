package throttle

import "time"

// quota counts one UTC day's metered messages against a limit. The day
// turns at midnight UTC of the clock passed in; "Upgrade or increase the
// number of units on the IoT hub or wait for the next UTC day for the
// daily quota to refresh" (troubleshoot 403002 IoTHubQuotaExceeded).
type quota struct {
	limit int64     // messages a day; negative: no quota
	used  int64     // messages metered on day
	day   time.Time // midnight UTC starting the day counted
}

// utcDay is the midnight UTC that starts t's day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// roll starts a new count when now is on a later day.
func (q *quota) roll(now time.Time) {
	if day := utcDay(now); day.After(q.day) {
		q.day, q.used = day, 0
	}
}

// exhausted reports whether the day's quota is used up at now. The
// message that crosses the limit is accepted (IoT Hub reports counts above
// the maximum: "Max allowed message count : '8000', current message
// count : '8448'"); every operation after it is refused.
func (q *quota) exhausted(now time.Time) bool {
	q.roll(now)
	return q.limit >= 0 && q.used >= q.limit
}

// add meters n messages on now's day.
func (q *quota) add(now time.Time, n int64) {
	q.roll(now)
	q.used += n
}
