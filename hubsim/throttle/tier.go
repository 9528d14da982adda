package throttle

import (
	"fmt"
	"strings"
)

// Tier is an IoT Hub pricing tier.
type Tier string

// The tiers hubsim models. Basic tiers (B1-B3) throttle like S1-S3 but have
// no twins, methods or C2D, which hubsim always serves: they are left out.
const (
	F1 Tier = "F1" // Free: S1's throttles, one unit, 8,000 messages a day metered in 0.5 KB
	S1 Tier = "S1"
	S2 Tier = "S2"
	S3 Tier = "S3"
)

// Tiers lists the tiers ParseTier accepts.
var Tiers = []Tier{F1, S1, S2, S3}

// ParseTier reads a tier name, case-insensitively ("s1" is S1).
func ParseTier(s string) (Tier, error) {
	for _, t := range Tiers {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown IoT Hub tier %q: want F1, S1, S2 or S3", s)
}

// Class is an operation class with its own throttle.
type Class uint8

// The throttled operation classes of the IoT Hub documentation. Jobs,
// configurations and device streams are left out: hubsim has none.
const (
	Connect     Class = iota // new device connections (the rate of connects, not the number connected)
	D2C                      // device-to-cloud sends
	C2DSend                  // cloud-to-device sends
	C2DReceive               // cloud-to-device receives (devices on HTTPS only)
	FileUpload               // file upload initiations
	Methods                  // direct methods, in 4 KB meters of payload
	Queries                  // twin queries
	TwinReads                // twin reads (device and module twins, from devices and the back end)
	TwinUpdates              // twin updates (reported from devices, tags and desired from the back end)
	Registry                 // identity registry operations (create, retrieve, list, update, delete)

	NumClasses = iota // how many classes there are
)

var classNames = [NumClasses]string{
	Connect: "deviceConnections", D2C: "d2cSends", C2DSend: "c2dSends", C2DReceive: "c2dReceives",
	FileUpload: "fileUploads", Methods: "directMethods", Queries: "queries", TwinReads: "twinReads",
	TwinUpdates: "twinUpdates", Registry: "registryOperations",
}

func (c Class) String() string {
	if c < NumClasses {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// spec is one cell of the tier table: the higher of floor and perUnit
// times the units, per second.
type spec struct{ perUnit, floor float64 }

// perMinute converts a documented per-minute rate to per second.
func perMinute(n float64) float64 { return n / 60 }

// table is "Operation throttles" of iot-hub-devguide-quotas-throttling.md
// (MicrosoftDocs/azure-docs; PROTOCOL.md §5): column "Free, B1, and S1",
// "B2 and S2", "B3 and S3". Direct methods are in 4 KB meters per second
// (160 KB/s/unit = 40 meters; 24 MB/s/unit = 6,144 meters).
var table = map[Tier][NumClasses]spec{
	S1: {
		Connect:     {12, 100},
		D2C:         {12, 100},
		C2DSend:     {perMinute(100), 0},
		C2DReceive:  {perMinute(1000), 0},
		FileUpload:  {perMinute(100), 0},
		Methods:     {160.0 / 4, 0},
		Queries:     {perMinute(20), 0},
		TwinReads:   {0, 100},
		TwinUpdates: {0, 50},
		Registry:    {perMinute(100), 0},
	},
	S2: {
		Connect:     {120, 0},
		D2C:         {120, 0},
		C2DSend:     {perMinute(100), 0},
		C2DReceive:  {perMinute(1000), 0},
		FileUpload:  {perMinute(100), 0},
		Methods:     {480.0 / 4, 0},
		Queries:     {perMinute(20), 0},
		TwinReads:   {10, 100},
		TwinUpdates: {5, 50},
		Registry:    {perMinute(100), 0},
	},
	S3: {
		Connect:     {6000, 0},
		D2C:         {6000, 0},
		C2DSend:     {perMinute(5000), 0},
		C2DReceive:  {perMinute(50000), 0},
		FileUpload:  {perMinute(5000), 0},
		Methods:     {24 * 1024 / 4, 0},
		Queries:     {perMinute(1000), 0},
		TwinReads:   {500, 0},
		TwinUpdates: {250, 0},
		Registry:    {perMinute(5000), 0},
	},
}

// Rate is the documented limit of class c for a hub of the tier with
// units units, per second (Methods: 4 KB meters per second). An unknown
// tier or class has rate 0.
func Rate(t Tier, units int, c Class) float64 {
	if t == F1 {
		t, units = S1, 1
	}
	row, ok := table[t]
	if !ok || c >= NumClasses {
		return 0
	}
	s := row[c]
	return max(s.perUnit*float64(units), s.floor)
}

// DailyQuota is the tier's message quota per day for units units
// (iot-hub-devguide-quotas-throttling.md, IoT Hub pricing): Free 8,000;
// S1 400,000, S2 6,000,000 and S3 300,000,000 per unit.
func DailyQuota(t Tier, units int) int64 {
	per := map[Tier]int64{F1: 8_000, S1: 400_000, S2: 6_000_000, S3: 300_000_000}[t]
	if t == F1 {
		units = 1
	}
	return per * int64(units)
}

// MeterSize is the size of one metered message in bytes: 0.5 KB on the
// Free tier, 4 KB on paid tiers ("The message size used to calculate the
// daily quota is 0.5 KB for a free tier hub and 4 KB for all other tiers").
func MeterSize(t Tier) int {
	if t == F1 {
		return 512
	}
	return 4096
}

// Meters is how many metered units size bytes count as, in chunks of
// meter bytes: at least one, as an operation with no payload is charged as
// one message (iot-hub-devguide-pricing.md).
func Meters(size, meter int) int64 {
	if size <= 0 || meter <= 0 {
		return 1
	}
	return int64((size + meter - 1) / meter)
}
