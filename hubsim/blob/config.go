package blob

// Azure's limits on block blobs for x-ms-version 2019-12-12 and later
// (Blob REST "Put Block", "Put Blob"; "Scalability and performance
// targets for Blob storage"). Older versions allow less (Put Blob 256 MiB,
// Put Block 100 MiB); hubsim does not vary them by version.
const (
	AzureMaxBlockBytes   = 4000 << 20                     // one Put Block body
	AzureMaxPutBlobBytes = 5000 << 20                     // one Put Blob body
	AzureMaxBlobBytes    = MaxBlocks * AzureMaxBlockBytes // a committed block blob, about 190.7 TiB
)

// DefaultMaxBlobBytes bounds a committed blob when StoreConfig.MaxBlobBytes
// is zero. hubsim keeps blobs on local disk, so its default is far below
// AzureMaxBlobBytes.
const DefaultMaxBlobBytes = 256 << 20

// StoreConfig holds a Store's limits, in bytes. Zero takes the default.
// A Put Blob or Put Block body over its limit is answered 413
// RequestBodyTooLarge, as Azure does; a Put Block List whose blob would
// pass MaxBlobBytes is 400 InvalidBlobOrBlock (Azure documents no code
// for its own limit, which no list of 50,000 blocks can reach).
type StoreConfig struct {
	// MaxBlobBytes bounds a committed blob, and so also every Put Blob
	// and Put Block body. Default DefaultMaxBlobBytes (256 MiB);
	// AzureMaxBlobBytes is Azure's own.
	MaxBlobBytes int64
	// MaxBlockBytes bounds one Put Block body. Default
	// AzureMaxBlockBytes (4000 MiB).
	MaxBlockBytes int64
	// MaxPutBlobBytes bounds one Put Blob body. Default
	// AzureMaxPutBlobBytes (5000 MiB).
	MaxPutBlobBytes int64
}

func (c *StoreConfig) setDefaults() {
	if c.MaxBlobBytes <= 0 {
		c.MaxBlobBytes = DefaultMaxBlobBytes
	}
	if c.MaxBlockBytes <= 0 {
		c.MaxBlockBytes = AzureMaxBlockBytes
	}
	if c.MaxPutBlobBytes <= 0 {
		c.MaxPutBlobBytes = AzureMaxPutBlobBytes
	}
}

// blockLimit is the most bytes one Put Block may carry.
func (c StoreConfig) blockLimit() int64 { return min(c.MaxBlockBytes, c.MaxBlobBytes) }

// putBlobLimit is the most bytes one Put Blob may carry.
func (c StoreConfig) putBlobLimit() int64 { return min(c.MaxPutBlobBytes, c.MaxBlobBytes) }
