package hub

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
)

func TestConnectRejectsIncompleteConfigWithoutDialing(t *testing.T) {
	cert := tls.Certificate{Certificate: [][]byte{{1}}}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no device id", Config{HostName: "h", Certificate: cert}, "device id is empty"},
		{"no host name", Config{DeviceID: "d", Certificate: cert}, "host name is empty"},
		{"no certificate", Config{DeviceID: "d", HostName: "h"}, "no device certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Connect(context.Background(), tc.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Connect = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestValidateFillsDefaults(t *testing.T) {
	c := Config{DeviceID: "d", HostName: "hub.example", Certificate: tls.Certificate{Certificate: [][]byte{{1}}}}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.Address != "hub.example:8883" || c.KeepAlive != DefaultKeepAlive || c.ConnectTimeout != DefaultConnectTimeout ||
		c.Dial == nil || c.Logger == nil {
		t.Fatalf("defaults not filled: %+v", c)
	}
}
