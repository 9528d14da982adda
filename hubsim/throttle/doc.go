// Package throttle models Azure IoT Hub's tiers: the operation throttles
// (hub-wide rates per operation class, with traffic shaping) and the daily
// message quota, as the IoT Hub documentation states them (PROTOCOL.md §5;
// MicrosoftDocs/azure-docs articles/iot-hub/iot-hub-devguide-quotas-throttling.md
// and iot-hub-devguide-pricing.md).
//
// The tier table (Rate, DailyQuota, MeterSize) gives the documented limits
// for F1, S1, S2 and S3 by number of units. A Limiter enforces them: one
// token bucket per Class, shared by the whole hub as IoT Hub's throttles
// are; a device-to-cloud send over the rate may wait (traffic shaping, up to
// Config.ShapingDelay) before it is refused, other classes are refused at
// once; and a day's metered messages are counted against the quota, which
// resets at midnight UTC. Refusals are *Error values carrying IoT Hub's
// status and code: 429 / 429001 ThrottlingException and 403 / 403002
// IotHubQuotaExceeded.
//
// The package is a pure core: it does no I/O, starts no goroutines and
// reads no clock; every call takes now (the hub's clock), so tests drive it
// with a fake time. Holding a shaped message for its wait is the caller's
// job. It imports only the standard library. A Limiter is safe for
// concurrent use (one mutex).
package throttle
