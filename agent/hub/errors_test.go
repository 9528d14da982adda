package hub

import (
	"errors"
	"fmt"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

func TestClassifyRecognisesRefusalsAndThrottling(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"CONNACK not authorized", fmt.Errorf("connect: %w", packets.ErrorRefusedNotAuthorised), ErrUnauthorized},
		{"CONNACK bad credentials", packets.ErrorRefusedBadUsernameOrPassword, ErrUnauthorized},
		{"CONNACK server unavailable", packets.ErrorRefusedServerUnavailable, ErrThrottled},
		{"twin 429", errors.New("request failed with 429 response code"), ErrThrottled},
		{"twin 404", errors.New("request failed with 404 response code"), ErrUnauthorized},
		{"quota", errors.New("IoTHubQuotaExceeded 403002"), ErrThrottled},
		{"twin 403 (the daily quota over MQTT: the SDK drops the body)", errors.New("request failed with 403 response code"), ErrThrottled},
		{"network", errors.New("connection reset by peer"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.err)
			for _, sentinel := range []error{ErrUnauthorized, ErrThrottled} {
				if errors.Is(got, sentinel) != (sentinel == tc.want) {
					t.Fatalf("classify(%v) = %v; Is(%v) = %v", tc.err, got, sentinel, errors.Is(got, sentinel))
				}
			}
			if !errors.Is(got, tc.err) {
				t.Fatalf("classify lost the cause: %v", got)
			}
		})
	}
}
