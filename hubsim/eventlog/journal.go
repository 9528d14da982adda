package eventlog

// Mark is one recorded message as the journal keeps it: enough to rebuild
// the counts, not the event.
type Mark struct {
	DeviceID  string
	MessageID string // "" for a message without an id
}

// Count is how many times the log recorded one (device, message id) pair;
// MessageID "" counts the device's messages without an id.
type Count struct {
	DeviceID  string
	MessageID string
	N         int64
}

// StartJournal makes Append also remember a Mark of every message until
// DrainJournal hands them over, so a persister can save the counts
// incrementally. It costs Append one slice append under the lock it
// already holds.
func (l *Log) StartJournal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.journaled = true
}

// DrainJournal returns the marks appended since the last call, oldest
// first, and forgets them.
func (l *Log) DrainJournal() []Mark {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.journal
	l.journal = nil
	return out
}

// Restore adds saved counts to the log (a hub starting again on its state
// directory): Seen, DeviceCount and Stats count them as if the messages
// had been appended again, so loss and duplicate counts survive a restart.
// Events (bodies and properties) are not restored; sequence numbers
// continue after the restored count.
func (l *Log) Restore(counts []Count) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range counts {
		if c.N <= 0 {
			continue
		}
		l.stats.Received += c.N
		l.byDevice[c.DeviceID] += c.N
		if c.MessageID == "" {
			l.stats.NoID += c.N
			continue
		}
		k := c.DeviceID + "\x00" + c.MessageID
		dups := c.N
		if l.seen[k] == 0 {
			l.stats.Unique++
			dups--
		}
		l.seen[k] += int(c.N)
		l.stats.Duplicates += dups
	}
}
