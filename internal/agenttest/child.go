package agenttest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudpillar/cloudpillar/agent"
	"github.com/cloudpillar/cloudpillar/agent/hub"
)

// A power-loss test runs the production agent in a child process it can
// SIGKILL, then starts an agent of its own on the store the child left:
//
//	parent: WriteChildDevice(dir, ...), StartChild(dir, "TestXxxChild"),
//	        AcceptedUntil(...), Kill(), then ChildConfig(dir) for the restart.
//	child:  func TestXxxChild(t *testing.T) {
//	            if !agenttest.ServeChild() { t.Skip("child of ...") }
//	        }
//
// StartChild hands the child its directory in the childEnv variable.

// childEnv names the environment variable holding the child's directory.
const childEnv = "CLOUDPILLAR_AGENTTEST_CHILD"

// Settings of the agent WriteChildDevice describes.
const (
	childKeepAlive      = 2 * time.Second
	childConnectTimeout = 5 * time.Second
	childTelemetry      = 5 * time.Millisecond // the child's TelemetryInterval
)

// childDevice is child.json: who the device is and where its hub listens.
type childDevice struct {
	DeviceID string `json:"deviceId"`
	HostName string `json:"hostName"`
	Address  string `json:"address"`
}

// WriteChildDevice writes what a child agent needs into dir: the device's
// cert.pem and key.pem, the hub CA's ca.pem and child.json with the device
// id, the hub's host name and its MQTT address. The agent's store is
// dir/agent.db.
func WriteChildDevice(dir, deviceID, hostName, address string, certPEM, keyPEM, caPEM []byte) error {
	b, err := json.Marshal(childDevice{DeviceID: deviceID, HostName: hostName, Address: address})
	if err != nil {
		return err
	}
	files := map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM, "ca.pem": caPEM, "child.json": b}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// ChildConfig is the agent configuration for the device WriteChildDevice
// wrote in dir: keep-alive 2 s, connect timeout 5 s, store dir/agent.db and
// every other field zero. The child and the agent restarted after it both
// use it.
func ChildConfig(dir string) (agent.Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, "child.json"))
	if err != nil {
		return agent.Config{}, err
	}
	var d childDevice
	if err := json.Unmarshal(b, &d); err != nil {
		return agent.Config{}, fmt.Errorf("child.json: %w", err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		return agent.Config{}, err
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return agent.Config{}, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	return agent.Config{
		Hub: hub.Config{DeviceID: d.DeviceID, HostName: d.HostName, Address: d.Address, RootCAs: roots,
			Certificate: pair, KeepAlive: childKeepAlive, ConnectTimeout: childConnectTimeout},
		StorePath: filepath.Join(dir, "agent.db"),
	}, nil
}

// Child is an agent running in a child process. Its reader goroutine, which
// passes on the lines the child prints, ends when the child's output does;
// Kill waits for it. A Child is used by one goroutine.
type Child struct {
	cmd      *exec.Cmd
	lines    chan string
	accepted int64 // the last count the child printed

	once    sync.Once
	killErr error
}

// StartChild runs the test binary again with only the test named testName,
// which must call ServeChild first, to run the agent of the device
// WriteChildDevice wrote in dir. The caller must Kill the child.
func StartChild(dir, testName string) (*Child, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+testName+"$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, lines: make(chan string)}
	go c.read(out)
	return c, nil
}

func (c *Child) read(out io.Reader) {
	defer close(c.lines)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		c.lines <- sc.Text()
	}
}

// AcceptedUntil reads the accepted counts the child prints until cond
// holds for one, and returns it. It fails if the child prints anything else
// (such as an error starting the agent), exits, or has not satisfied cond
// within timeout; the count it returns with the error is the last one read.
func (c *Child) AcceptedUntil(timeout time.Duration, cond func(accepted int64) bool) (int64, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				return c.accepted, fmt.Errorf("child exited after %d accepted", c.accepted)
			}
			v, found := strings.CutPrefix(line, "accepted ")
			if !found {
				return c.accepted, fmt.Errorf("child: %s", line)
			}
			c.accepted, _ = strconv.ParseInt(v, 10, 64)
			if cond(c.accepted) {
				return c.accepted, nil
			}
		case <-deadline.C:
			return c.accepted, fmt.Errorf("child reported only %d accepted in %v", c.accepted, timeout)
		}
	}
}

// Kill sends the child SIGKILL, so that it has no chance to flush or close
// anything, and waits for it and its reader goroutine. It may be called
// more than once; only the first call kills.
func (c *Child) Kill() error {
	c.once.Do(func() {
		if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			c.killErr = err
		}
		for range c.lines { // the child's output ends when it dies
		}
		c.cmd.Wait() // "signal: killed", expected
	})
	return c.killErr
}

// ServeChild is the body of the test StartChild names. When the test
// binary was not started by StartChild it returns false at once, and the
// test should skip. Otherwise it never returns: it runs the agent from
// ChildConfig with telemetry every 5 ms and prints "accepted N" each time
// the agent's accepted count changes, until the parent kills the process.
// If the agent cannot start it prints "error ..." and exits with status 3.
func ServeChild() bool {
	dir := os.Getenv(childEnv)
	if dir == "" {
		return false
	}
	cfg, err := ChildConfig(dir)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	cfg.TelemetryInterval = childTelemetry
	a, err := agent.New(cfg)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	go a.Run(context.Background())
	w := bufio.NewWriter(os.Stdout)
	var last int64
	for {
		if n := a.Stats().Accepted; n != last {
			last = n
			fmt.Fprintf(w, "accepted %d\n", n)
			w.Flush()
		}
		time.Sleep(time.Millisecond)
	}
}
