package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// Service settings: restart 5, 30 and 60 s after a failure (a non-zero
// exit counts), forgetting earlier failures after a day.
var (
	recoveryActions = []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 60 * time.Second},
	}
	recoveryResetSeconds uint32 = 24 * 60 * 60
)

// stopWaitHint is what the agent tells the service manager a stop may
// take: stopTimeout plus a margin.
const stopWaitHint = stopTimeout + 5*time.Second

// runAsService runs the agent under the service control manager when the
// process was started by it; it reports false otherwise (a console run).
func runAsService(args []string) (int, bool) {
	isService, err := svc.IsWindowsService()
	if err != nil || !isService {
		return 0, false
	}
	elog, err := eventlog.Open(serviceName)
	if err != nil {
		elog = nil // no event source: logs without a logFile are lost
	}
	s := &agentService{args: args, elog: elog}
	if err := svc.Run(serviceName, s); err != nil {
		s.report(eventlog.Error, fmt.Sprintf("service %s: %v", serviceName, err))
		return 1, true
	}
	return int(s.code), true
}

// agentService is the svc.Handler: it runs the same run as a console
// start, with a context cancelled on Stop or Shutdown.
type agentService struct {
	args []string
	elog *eventlog.Log // nil: none
	code uint32
}

// Execute runs the agent until it stops or the service manager asks it to.
func (s *agentService) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, s.args, io.Discard, eventWriter{s, eventlog.Info}) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			s.code = uint32(exitCode(err, eventWriter{s, eventlog.Error}))
			return s.code != 0, s.code
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending, WaitHint: uint32(stopWaitHint / time.Millisecond)}
				cancel()
			}
		}
	}
}

func (s *agentService) report(kind uint16, msg string) {
	if s.elog == nil {
		return
	}
	switch kind {
	case eventlog.Error:
		s.elog.Error(1, msg)
	default:
		s.elog.Info(1, msg)
	}
}

// eventWriter sends each write (one log record) to the event log.
type eventWriter struct {
	s    *agentService
	kind uint16
}

func (w eventWriter) Write(p []byte) (int, error) {
	w.s.report(w.kind, strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// installService registers the service to run exe --config configPath,
// starting automatically, with restart-on-failure recovery, and an event
// log source for messages written without a logFile.
func installService(exe, configPath string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("install: connect to the service manager (run from an elevated prompt): %w", err)
	}
	defer m.Disconnect()
	if old, err := m.OpenService(serviceName); err == nil {
		old.Close()
		return fmt.Errorf("install: service %s already exists; run uninstall first", serviceName)
	}
	s, err := m.CreateService(serviceName, exe, mgr.Config{
		DisplayName: "Cloud Pillar Agent",
		Description: "Connects this CARTO 3 system to Azure IoT Hub (Cloud Pillar device agent).",
		StartType:   mgr.StartAutomatic,
	}, "--config", configPath)
	if err != nil {
		return fmt.Errorf("install: create service %s: %w", serviceName, err)
	}
	defer s.Close()
	if err := setRecovery(s); err != nil {
		return errors.Join(fmt.Errorf("install: %w", err), s.Delete())
	}
	eventlog.Remove(serviceName) // left over from an earlier install, if any
	if err := eventlog.InstallAsEventCreate(serviceName, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil {
		return errors.Join(fmt.Errorf("install: event log source: %w", err), s.Delete())
	}
	return nil
}

func setRecovery(s *mgr.Service) error {
	if err := s.SetRecoveryActions(recoveryActions, recoveryResetSeconds); err != nil {
		return fmt.Errorf("set recovery actions: %w", err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("set recovery on non-crash failures: %w", err)
	}
	return nil
}

// uninstallService stops the service if it runs, deletes it and removes
// its event log source.
func uninstallService() error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("uninstall: connect to the service manager (run from an elevated prompt): %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(serviceName)
	if err != nil {
		return fmt.Errorf("uninstall: service %s: %w", serviceName, err)
	}
	defer s.Close()
	if err := stopService(s); err != nil {
		return fmt.Errorf("uninstall: %w", err)
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("uninstall: delete service %s: %w", serviceName, err)
	}
	eventlog.Remove(serviceName)
	return nil
}

// stopService asks a running service to stop and polls until it has,
// for at most stopWaitHint plus a margin.
func stopService(s *mgr.Service) error {
	st, err := s.Query()
	if err != nil {
		return fmt.Errorf("query service: %w", err)
	}
	if st.State == svc.Stopped {
		return nil
	}
	if _, err := s.Control(svc.Stop); err != nil {
		return fmt.Errorf("stop service: %w", err)
	}
	deadline := time.Now().Add(stopWaitHint + 10*time.Second)
	for time.Now().Before(deadline) {
		if st, err := s.Query(); err == nil && st.State == svc.Stopped {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("service %s did not stop within %v", serviceName, stopWaitHint+10*time.Second)
}
