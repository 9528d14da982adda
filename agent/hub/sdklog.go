package hub

import (
	"context"
	"fmt"
	"log/slog"
)

// sdkLogger routes the iothub SDK's printf-style logs into slog, so nothing
// the SDK says bypasses the agent's structured logs.
type sdkLogger struct{ l *slog.Logger }

func (s sdkLogger) log(level slog.Level, format string, v ...any) {
	if s.l.Enabled(context.Background(), level) {
		s.l.Log(context.Background(), level, fmt.Sprintf(format, v...), "source", "iothub-sdk")
	}
}

func (s sdkLogger) Errorf(format string, v ...any) { s.log(slog.LevelError, format, v...) }
func (s sdkLogger) Warnf(format string, v ...any)  { s.log(slog.LevelWarn, format, v...) }
func (s sdkLogger) Infof(format string, v ...any)  { s.log(slog.LevelInfo, format, v...) }
func (s sdkLogger) Debugf(format string, v ...any) { s.log(slog.LevelDebug, format, v...) }
