package update

import "encoding/json"

// Azure Device Update twin contract (UPDATES.md §1.1). The component is
// "deviceUpdate"; its "agent" object is reported by the device and its
// "service" object is desired by the cloud.
const (
	ComponentName = "deviceUpdate"
	ModelID       = "dtmi:azure:iot:deviceUpdateModel;3"
	ContractModel = "dtmi:azure:iot:deviceUpdateContractModel;3"

	// NoDeployment is the workflow id of a "no deployment" service
	// message; its manifest fields are null.
	NoDeployment = "nodeployment"
)

// Workflow actions sent by the service.
const (
	ActionApply  = 3   // ProcessDeployment (applyDeployment)
	ActionCancel = 255 // cancel the current workflow
)

// Agent states reported in AgentState.State.
const (
	StateIdle                 = 0 // also reported after success
	StateDeploymentInProgress = 6
	StateFailed               = 255
)

// Result codes for InstallResult.ResultCode (>0 success, <=0 failure);
// the subset this agent reports.
const (
	ResultFailure                 = 0
	ResultFailureCancelled        = -1
	ResultDownloadSuccess         = 500
	ResultDownloadInProgress      = 501
	ResultSkippedAlreadyInstalled = 503
	ResultInstallSuccess          = 600
	ResultInstallInProgress       = 601
	ResultApplySuccess            = 700
	ResultApplyInProgress         = 701
	ResultCancelSuccess           = 800
	ResultCancelUnableToCancel    = 801
	ResultIsInstalledInstalled    = 900
	ResultIsInstalledNotInstalled = 901
	ResultRootKeyPackageContinue  = 1200
)

// Compatibility property names reported in AgentState.CompatPropertyNames:
// ADU's default, and ours, which binds updates to a hardware id too.
const (
	DefaultCompatPropertyNames = "manufacturer,model"
	CompatPropertyNames        = "manufacturer,model,hardwareId"
)

// Workflow identifies one deployment.
type Workflow struct {
	Action         int    `json:"action"`
	ID             string `json:"id"`
	RetryTimestamp string `json:"retryTimestamp,omitempty"`
}

// ServiceUpdate is the desired deviceUpdate.service object.
type ServiceUpdate struct {
	Workflow                Workflow `json:"workflow"`
	UpdateManifest          string   `json:"updateManifest"`
	UpdateManifestSignature string   `json:"updateManifestSignature"`
	// FileURLs maps a file's key in the manifest (FileEntry.URLKey: its
	// id) to where to fetch it.
	FileURLs          map[string]string `json:"fileUrls"`
	RootKeyPackageURL string            `json:"rootKeyPackageUrl,omitempty"`
}

// AgentState is the reported deviceUpdate.agent object.
type AgentState struct {
	State    int       `json:"state"`
	Workflow *Workflow `json:"workflow,omitempty"`
	// InstalledUpdateID is the installed update's id as a JSON string
	// (UpdateID.ADUString), or empty before the first install.
	InstalledUpdateID   string           `json:"installedUpdateId,omitempty"`
	LastInstallResult   InstallResult    `json:"lastInstallResult"`
	DeviceProperties    DeviceProperties `json:"deviceProperties"`
	CompatPropertyNames string           `json:"compatPropertyNames"`
}

// InstallResult is ADU's lastInstallResult.
type InstallResult struct {
	ResultCode         int32                 `json:"resultCode"`
	ExtendedResultCode int32                 `json:"extendedResultCode"`
	ResultDetails      string                `json:"resultDetails"`
	StepResults        map[string]StepResult `json:"stepResults,omitempty"`
}

// StepResult is one entry of InstallResult.StepResults ("step_0", ...).
type StepResult struct {
	ResultCode         int32  `json:"resultCode"`
	ExtendedResultCode int32  `json:"extendedResultCode"`
	ResultDetails      string `json:"resultDetails"`
}

// DeviceProperties are the reported properties the service matches
// compatibility against; HardwareID is our custom compat property.
type DeviceProperties struct {
	Manufacturer    string `json:"manufacturer"`
	Model           string `json:"model"`
	HardwareID      string `json:"hardwareId,omitempty"`
	ContractModelID string `json:"contractModelId,omitempty"`
	ADUVersion      string `json:"aduVer,omitempty"`
}

// ADUString renders id the way ADU reports installedUpdateId: a JSON
// object serialised into a string.
func (id UpdateID) ADUString() string {
	b, _ := json.Marshal(id) // three strings: cannot fail
	return string(b)
}
