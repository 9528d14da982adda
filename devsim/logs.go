package devsim

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/logship"
)

// LogSource is the name of the virtual CARTO's log source.
const LogSource = "device"

// wireLogs writes the virtual CARTO's log file (seeded, with lines a
// redactor must catch) and points the agent's log shipper at it and at the
// hub's HTTPS endpoint.
func (f *Fleet) wireLogs(cfg *agent.Config, id string, rnd *rand.Rand) error {
	dir := filepath.Join(f.cfg.StoreDir, "logs", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("device %s logs: %w", id, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "carto.log"), cartoLog(id, rnd, f.cfg.LogBytes), 0o600); err != nil {
		return fmt.Errorf("device %s logs: %w", id, err)
	}
	cfg.Logs = agent.LogsConfig{
		Sources:      []logship.Source{{Name: LogSource, Kind: logship.KindDeviceLog, Root: dir, Patterns: []string{"*.log"}}},
		HTTPSAddress: f.cfg.Hub.HTTPSAddr(),
	}
	return nil
}

// cartoLog makes about size bytes of CARTO-like log lines; one line in
// fifty names a (fictional) patient, MRN and date of birth.
func cartoLog(id string, rnd *rand.Rand, size int) []byte {
	var b strings.Builder
	for n := 0; b.Len() < size; n++ {
		if n%50 == 0 {
			fmt.Fprintf(&b, "%06d case opened Patient: Test Person%d MRN: %08d DOB 1970-01-%02d\n", n, n, rnd.IntN(1e8), 1+rnd.IntN(28))
			continue
		}
		fmt.Fprintf(&b, "%06d %s map point %d catheter temp %.2f C impedance %d ohm\n", n, id, rnd.IntN(5000), 36.5+rnd.Float64(), 80+rnd.IntN(60))
	}
	return []byte(b.String())
}
